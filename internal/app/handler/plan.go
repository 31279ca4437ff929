package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/pushdeploy/pushdeploy/internal/app/awsapi"
	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
	"github.com/pushdeploy/pushdeploy/internal/app/ledger"
	"github.com/pushdeploy/pushdeploy/internal/app/rollback"
	"github.com/pushdeploy/pushdeploy/internal/app/target"
	"github.com/pushdeploy/pushdeploy/internal/app/taskdef"
)

// PlanDeps are the plan function's dependencies.
type PlanDeps struct {
	Resolver Resolver
	ECS      awsapi.ECS
	// CloudWatch checks that the service's alarms exist.
	CloudWatch awsapi.CloudWatch
	ECR        ECR
	History    History
	Leases     Leases
	Triggers   Triggers
	SFN        awsapi.SFN
	Clock      clock.Clock
	Log        *slog.Logger
	Settings   Settings
	// Freezes holds pushes back (plan_freeze.go); nil: no freeze is read.
	Freezes Freezes
}

// PlanHandler validates the execution input, describes the service, chooses
// the action and revisions and takes the service's lease. Every bad input
// ends in a named error before anything is written, the lease included.
type PlanHandler struct {
	d PlanDeps
	c *coord.Coordinator
}

// NewPlan returns the plan handler.
func NewPlan(d PlanDeps) (*PlanHandler, error) {
	if d.Resolver == nil || d.ECS == nil || d.CloudWatch == nil || d.ECR == nil || d.History == nil || d.Leases == nil || d.Triggers == nil || d.SFN == nil || d.Clock == nil || d.Log == nil {
		return nil, fmt.Errorf("plan: %w", errMissing)
	}
	c, err := coord.NewCoordinator(d.Leases, d.SFN, d.Clock)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	return &PlanHandler{d: d, c: c}, nil
}

// leaseMargin is added to a plan's waits for the lease TTL: Lambda run
// times and retries between the waits.
const leaseMargin = 15 * time.Minute

// Handle plans one execution.
func (h *PlanHandler) Handle(ctx context.Context, req contract.PlanInput) (contract.Plan, error) {
	in, err := contract.DecodeExecutionInput(req.Input)
	if err != nil {
		return contract.Plan{}, err
	}
	if err := validate(in); err != nil {
		return contract.Plan{}, err
	}
	if in.Trigger == "" {
		in.Trigger = contract.TriggerManual
	}
	log := h.d.Log.With("cluster", in.Cluster, "service", in.Service, "execution", req.Execution.ID, "action", in.Action, "trigger", in.Trigger)
	t, err := h.d.Resolver.Get(ctx, in.Cluster, in.Service)
	if err != nil {
		return contract.Plan{}, boundary("describe service "+in.Service, err)
	}
	if t.Controller != "" && t.Controller != "ECS" {
		// CodeDeploy or an external controller deploys this service;
		// UpdateService cannot, so nothing is registered or updated.
		return contract.Plan{}, &contract.UnsupportedDeploymentController{Service: t.ServiceARN, Controller: t.Controller}
	}
	// A push or alarm trigger needs dispatch's ticket (package trigger).
	ticket, err := h.d.Triggers.Verify(ctx, t.ServiceARN, req.Execution.Name, in)
	if err != nil {
		return contract.Plan{}, boundary("verify trigger", err)
	}
	// A manual execution did not pass dispatch, which indexes a push's
	// services under their alarms: index this one (target.AlarmIndex), so
	// that an alarm after it finds the service. A hint: failing is logged.
	if in.Trigger == contract.TriggerManual {
		if err := h.d.Resolver.Index(ctx, []target.Target{t}); err != nil {
			log.WarnContext(ctx, "alarm index not updated", "error", err)
		}
	}
	var alarmName, pushEvent string
	if in.Alarm != nil {
		alarmName = in.Alarm.AlarmName
	}
	if in.Push != nil {
		pushEvent = in.Push.EventID
	}
	started := contract.StartedOf(string(in.Action), in.RequestedBy, alarmName, pushEvent, in.Alarm != nil, in.Push != nil)
	if in.Promotion != nil {
		started.By = "promotion from " + in.Promotion.From
	}
	p := contract.Plan{
		Started:                  &started,
		ExecutionArn:             req.Execution.ID,
		Action:                   in.Action,
		Trigger:                  in.Trigger,
		Reason:                   in.Reason,
		Cluster:                  t.ClusterName,
		Service:                  t.ServiceName,
		ServiceArn:               t.ServiceARN,
		CurrentTaskDefinitionArn: t.TaskDefinition,
		Alarms:                   t.Config.Alarms,
		BakeSeconds:              seconds(target.BakeAfterECS(t.Config.Bake, t.ECSBake)),
		TimeoutSeconds:           max(1, seconds(t.Config.Timeout+t.ECSWaits)),
		ECSBakeSeconds:           seconds(t.ECSBake),
	}
	if t.Strategy != "" && t.Strategy != "ROLLING" {
		p.Strategy = t.Strategy
	}
	led, err := h.d.History.Ledger(ctx, t.ServiceARN)
	if err != nil {
		return contract.Plan{}, boundary("read the service's ledger", err)
	}
	if lg, ok := led.LastGood(); ok {
		p.LastGoodTaskDefinitionArn = lg.Revision
	}

	mode := coord.Preempt
	switch in.Action {
	case contract.ActionDeploy:
		if err := h.planDeploy(ctx, in, t, led, &p); err != nil {
			return contract.Plan{}, err
		}
		if err := h.checkFreeze(ctx, &p); err != nil {
			return contract.Plan{}, err
		}
		if err := h.checkPromotion(ctx, t, &p); err != nil {
			return contract.Plan{}, err
		}
		requireApproval(t.Config, &p)
	case contract.ActionRedeploy:
		p.TargetTaskDefinitionArn = t.TaskDefinition
		p.UndoTaskDefinitionArn = t.TaskDefinition
		if d := rollback.AfterFailure(led, t.TaskDefinition, ""); !d.Skipped() {
			p.UndoTaskDefinitionArn = d.Target
		}
	case contract.ActionRelease:
		return h.planRelease(ctx, in, led, p)
	case contract.ActionRollback:
		p.BakeSeconds = 0
		if in.Trigger == contract.TriggerAlarm {
			mode = coord.IfFree
			if err := h.planAlarm(ctx, in, t, led, &p); err != nil {
				return contract.Plan{}, err
			}
		} else if err := h.planRollback(ctx, in, t, led, &p); err != nil {
			return contract.Plan{}, err
		}
		// A rollback is never undone: if its wait fails, the state
		// machine's Undo step stays on the target.
		p.UndoTaskDefinitionArn = p.TargetTaskDefinitionArn
	}
	if p.Action == contract.ActionSkip {
		log.InfoContext(ctx, "skip", "reason", p.Reason)
		return skipped(p), nil
	}
	p.Warnings = missingAlarmWarnings(ctx, h.d.CloudWatch, log, p.Alarms)

	// Never a caller-supplied time: a push's order comes from its verified
	// ticket, every other execution's from its start time.
	seq, tie := req.Execution.StartTime.UnixMilli(), ""
	if ticket.Seq != 0 {
		seq, tie = ticket.Seq, ticket.Tie
	}
	wait := time.Duration(2*p.TimeoutSeconds+p.BakeSeconds+p.ApprovalSeconds)*time.Second + leaseMargin
	got, err := h.d.Leases.Acquire(ctx, coord.Request{Service: t.ServiceARN, Holder: req.Execution.ID, Seq: seq, Tie: tie, TTL: wait, Mode: mode})
	var held *coord.HeldError
	var sup *coord.SupersededError
	switch {
	case errors.As(err, &held) && mode == coord.IfFree:
		p.Action, p.Reason = contract.ActionSkip, string(rollback.DeployInFlight)+": "+held.Error()
		log.InfoContext(ctx, "skip", "reason", p.Reason)
		return skipped(p), nil
	case errors.As(err, &sup) && mode == coord.IfFree:
		p.Action, p.Reason = contract.ActionSkip, string(rollback.DeployInFlight)+": "+sup.Error()
		log.InfoContext(ctx, "skip", "reason", p.Reason)
		return skipped(p), nil
	case errors.As(err, &sup):
		return contract.Plan{}, &contract.Superseded{Service: t.ServiceARN, Holder: sup.By}
	case errors.As(err, &held):
		return contract.Plan{}, &contract.Superseded{Service: t.ServiceARN, Holder: held.Holder}
	case err != nil:
		return contract.Plan{}, boundary("acquire lease", err)
	}
	p.LeaseOwner = req.Execution.ID
	if got.Previous != "" {
		p.Superseded = got.Previous
		h.wakeSuperseded(ctx, log, got, p)
	}
	planLog(h.d.Log, p).InfoContext(ctx, "planned", "action", p.Action, "target", p.TargetTaskDefinitionArn,
		"undoTo", p.UndoTaskDefinitionArn, "bakeSeconds", p.BakeSeconds, "timeoutSeconds", p.TimeoutSeconds, "superseded", p.Superseded)
	return p, nil
}

// skipped clears what a skip does not use, so the record shows nothing
// was going to change.
func skipped(p contract.Plan) contract.Plan {
	p.TargetTaskDefinitionArn, p.UndoTaskDefinitionArn = "", ""
	p.BakeSeconds, p.TimeoutSeconds, p.ApprovalSeconds = 0, 0, 0
	p.ImageChanges = nil
	return p
}

// wakeSuperseded ends the wait of the execution the lease was taken from,
// so it finishes SUPERSEDED now instead of at its timeout. Best effort: it
// also learns it at its next lease check.
func (h *PlanHandler) wakeSuperseded(ctx context.Context, log *slog.Logger, got coord.Acquired, by contract.Plan) {
	if got.PreviousToken == "" {
		return
	}
	if got.PreviousPhase == contract.PhaseApproval {
		// An approval wait fails (the state machine routes it to Finish
		// before Register): nothing was changed, nothing to undo.
		cause := fmt.Sprintf("superseded while waiting for approval by %s (%s)", by.ExecutionArn, by.Action)
		if _, err := h.c.FailClaimed(ctx, got.PreviousToken, contract.ErrorSuperseded, cause); err != nil {
			log.WarnContext(ctx, "end superseded approval wait", "previous", got.Previous, "error", err)
		}
		return
	}
	out := contract.Outcome{Status: contract.StatusSuperseded, Cause: "superseded",
		Reason: "a newer execution took the service's lease", CheckedAt: h.d.Clock.Now().UTC()}
	if _, err := h.c.WakeClaimed(ctx, got.PreviousToken, out); err != nil {
		log.WarnContext(ctx, "wake superseded execution", "previous", got.Previous, "error", err)
	}
}

func (h *PlanHandler) planDeploy(ctx context.Context, in contract.ExecutionInput, t target.Target, led ledger.Ledger, p *contract.Plan) error {
	img, err := h.image(ctx, in, t.Config)
	if err != nil {
		return err
	}
	if q, ok := led.Quarantine(img.Digest); ok {
		switch {
		case in.Force:
			p.Forced = true
		case in.Trigger.Automatic():
			p.Image = &contract.Image{Repository: repositoryURI(img), Tag: triggerTag(in, img), Digest: img.Digest}
			p.Action, p.Reason = contract.ActionSkip, quarantined(q)
			return nil
		default:
			return &contract.BadInput{Field: "digest", Reason: quarantined(q) + "; deploy it with force to override"}
		}
	}
	containers := in.Containers
	if len(containers) == 0 {
		containers = t.Config.Containers
	}
	// Check the containers against the current task definition now, so a
	// bad name fails before the lease is taken or anything is registered.
	out, err := h.d.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(t.TaskDefinition)})
	if err != nil {
		return boundary("describe task definition "+t.TaskDefinition, err)
	}
	changes, err := taskdef.ReplaceImages(taskdef.RegisterInput(out.TaskDefinition, nil), img, containers, h.d.Settings.Policy)
	if err != nil {
		return boundary("replace images", err)
	}
	p.Image = &contract.Image{Repository: repositoryURI(img), Tag: triggerTag(in, img), Digest: img.Digest}
	p.Containers = nil
	same := true
	for _, c := range changes {
		p.Containers = append(p.Containers, c.Container)
		same = same && c.From == c.To
		if approvalNeeded(in.Trigger, t.Config) {
			p.ImageChanges = append(p.ImageChanges, contract.ImageChange{Container: c.Container, From: c.From, To: c.To})
		}
	}
	p.UndoTaskDefinitionArn = t.TaskDefinition
	if d := rollback.AfterFailure(led, "", t.TaskDefinition); !d.Skipped() {
		p.UndoTaskDefinitionArn = d.Target
	}
	if same {
		p.Action, p.Reason = contract.ActionSkip, "service already runs "+img.Pinned()
		return nil
	}
	// A push or a promotion never goes down a version; an operator's deploy may.
	if in.Trigger.Automatic() {
		reason, err := h.lowerVersion(ctx, triggerTag(in, img), img, changes, t.Config)
		if err != nil {
			return err
		}
		if reason != "" {
			p.Action, p.Reason = contract.ActionSkip, reason
		}
	}
	return nil
}

// triggerTag is the tag of the image deployed: the image's own, else the
// push's (dispatch pins the image by digest) or the promoted deploy's.
func triggerTag(in contract.ExecutionInput, img taskdef.Image) string {
	switch {
	case img.Tag != "":
		return img.Tag
	case in.Push != nil:
		return in.Push.Tag
	case in.Promotion != nil:
		return in.Promotion.Tag
	}
	return ""
}

// image resolves the image to deploy, pinned by digest, and checks the
// registry policy.
func (h *PlanHandler) image(ctx context.Context, in contract.ExecutionInput, cfg target.Config) (taskdef.Image, error) {
	var img taskdef.Image
	if in.Image != "" {
		var err error
		if img, err = taskdef.ParseImage(in.Image); err != nil {
			return taskdef.Image{}, &contract.BadInput{Field: "image", Reason: err.Error()}
		}
	} else {
		img = taskdef.Image{Registry: taskdef.ECRRegistry(h.d.Settings.Account, h.d.Settings.Region), Repository: cfg.Repository}
	}
	if in.Digest != "" {
		if !taskdef.ValidDigest(in.Digest) {
			return taskdef.Image{}, &contract.BadInput{Field: "digest", Reason: fmt.Sprintf("%q is not sha256:<64 hex>", in.Digest)}
		}
		if img.Digest != "" && img.Digest != in.Digest {
			return taskdef.Image{}, &contract.BadInput{Field: "digest", Reason: "differs from the image's digest"}
		}
		img.Digest = in.Digest
	}
	if !h.d.Settings.Policy.Allows(img) {
		reg := img.Registry
		if reg == "" {
			reg = "docker.io"
		}
		return taskdef.Image{}, &contract.RegistryNotAllowed{Image: img.String(), Registry: reg}
	}
	if img.Digest != "" && in.Trigger.Automatic() {
		return img, nil // just pushed (ECR told us the digest), or deployed on the leader
	}
	acct := img.Account()
	if acct == "" {
		if img.Digest != "" {
			return img, nil
		}
		return taskdef.Image{}, &contract.BadInput{Field: "image", Reason: "a tag can only be resolved in ECR; give the image by digest"}
	}
	// Plan's ECR client (and IAM) is this region's: an allow-list that
	// admits another region's ECR takes its images by digest only.
	if r := img.Region(); r != h.d.Settings.Region {
		if img.Digest != "" {
			return img, nil
		}
		return taskdef.Image{}, &contract.BadInput{Field: "image", Reason: fmt.Sprintf(
			"tags are resolved in this region's ECR (%s) only; give the %s image by digest", h.d.Settings.Region, r)}
	}
	id := ecrtypes.ImageIdentifier{ImageTag: nonEmpty(img.Tag), ImageDigest: nonEmpty(img.Digest)}
	if img.Digest != "" {
		id.ImageTag = nil
	}
	out, err := h.d.ECR.DescribeImages(ctx, &ecr.DescribeImagesInput{
		RegistryId: aws.String(acct), RepositoryName: aws.String(img.Repository), ImageIds: []ecrtypes.ImageIdentifier{id},
	})
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "ImageNotFoundException" || api.ErrorCode() == "RepositoryNotFoundException") {
		return taskdef.Image{}, &contract.ImageNotFound{Image: img.String(), Err: err}
	}
	if err != nil {
		return taskdef.Image{}, boundary("describe image "+img.String(), err)
	}
	if len(out.ImageDetails) == 0 || aws.ToString(out.ImageDetails[0].ImageDigest) == "" {
		return taskdef.Image{}, &contract.ImageNotFound{Image: img.String()}
	}
	img.Digest = aws.ToString(out.ImageDetails[0].ImageDigest)
	return img, nil
}

func (h *PlanHandler) planRollback(ctx context.Context, in contract.ExecutionInput, t target.Target, led ledger.Ledger, p *contract.Plan) error {
	if in.Revision != "" {
		d, err := rollback.Manual(led, t.TaskDefinition, in.Revision, in.Force)
		var bad *rollback.RolledBackFromError
		if errors.As(err, &bad) {
			return &contract.BadInput{Field: "revision", Reason: bad.Error()}
		}
		if err != nil {
			return boundary("resolve revision", err)
		}
		if d.Skipped() {
			p.Action, p.Reason = contract.ActionSkip, string(d.Skip)+": "+d.Detail
			return nil
		}
		p.Forced = in.Force && led.IsBad(d.Target)
		arn, _, err := h.activeRevision(ctx, d.Target)
		if err != nil {
			return err
		}
		p.TargetTaskDefinitionArn = arn
		return nil
	}
	d, arn, err := h.activeTarget(ctx, led, func(l ledger.Ledger) rollback.Decision {
		d, _ := rollback.Manual(l, t.TaskDefinition, "", false) // no revision: no error
		return d
	})
	if err != nil {
		return err
	}
	if d.Skipped() {
		p.Action, p.Reason = contract.ActionSkip, string(d.Skip)+": "+d.Detail
		return nil
	}
	p.TargetTaskDefinitionArn = arn
	return nil
}

// activeTarget decides a rollback target from the ledger, passing over
// good revisions that were deregistered since (cleanup keeps only the
// newest good ones) and those whose images carry a quarantined digest (a
// revision the ledger learned of through a rollback or as the one before
// pushdeploy's first change has no digest of its own in the ledger, so
// only its task definition tells): the decision is asked again without
// them.
func (h *PlanHandler) activeTarget(ctx context.Context, led ledger.Ledger, decide func(ledger.Ledger) rollback.Decision) (rollback.Decision, string, error) {
	for {
		d := decide(led)
		if d.Skipped() {
			return d, "", nil
		}
		arn, digests, err := h.activeRevision(ctx, d.Target)
		var bad *contract.BadInput
		if errors.As(err, &bad) {
			if _, known := led.Get(d.Target); known {
				led = led.Without(d.Target)
				continue
			}
		}
		if err == nil && slices.ContainsFunc(digests, func(dg string) bool { _, q := led.Quarantine(dg); return q }) {
			led = led.Without(d.Target)
			continue
		}
		return d, arn, err
	}
}

// activeRevision returns the ARN of an ACTIVE revision and the digests its
// containers' images are pinned to: a rollback to a revision that does not
// exist or was deregistered is bad input, refused before anything changes.
func (h *PlanHandler) activeRevision(ctx context.Context, rev string) (string, []string, error) {
	out, err := h.d.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(rev)})
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "ClientException" {
			return "", nil, &contract.BadInput{Field: "revision", Reason: fmt.Sprintf("revision %s does not exist: %s", rev, api.ErrorMessage())}
		}
		return "", nil, boundary("describe task definition "+rev, err)
	}
	td := out.TaskDefinition
	if td.Status != ecstypes.TaskDefinitionStatusActive {
		return "", nil, &contract.BadInput{Field: "revision", Reason: fmt.Sprintf("revision %s is %s: ECS cannot start tasks of it", aws.ToString(td.TaskDefinitionArn), td.Status)}
	}
	var digests []string
	for _, c := range td.ContainerDefinitions {
		if img, err := taskdef.ParseImage(aws.ToString(c.Image)); err == nil && img.Digest != "" {
			digests = append(digests, img.Digest)
		}
	}
	return aws.ToString(td.TaskDefinitionArn), digests, nil
}

func (h *PlanHandler) planAlarm(ctx context.Context, in contract.ExecutionInput, t target.Target, led ledger.Ledger, p *contract.Plan) error {
	if !t.Config.HasAlarm(in.Alarm.AlarmName) {
		p.Action, p.Reason = contract.ActionSkip, fmt.Sprintf("alarm %s is not one of the service's alarms", in.Alarm.AlarmName)
		return nil
	}
	st, err := h.d.Leases.Get(ctx, t.ServiceARN)
	if err != nil {
		return boundary("read lease", err)
	}
	d, arn, err := h.activeTarget(ctx, led, func(l ledger.Ledger) rollback.Decision {
		return rollback.ForAlarm(rollback.AlarmInput{
			Now: h.d.Clock.Now(), Current: t.TaskDefinition, Culprit: in.Alarm.TaskDefinitionArn,
			// A holder that only waits for its approval watches nothing:
			// the rollback takes the lease from it (coord.IfFree).
			Ledger: l, LeaseHeld: st.Held(h.d.Clock.Now()) && !st.Approving(), Window: t.Config.RollbackWindow,
		})
	})
	if err != nil {
		return err
	}
	if d.Skipped() {
		p.Action, p.Reason = contract.ActionSkip, string(d.Skip)+": "+d.Detail
		return nil
	}
	p.TargetTaskDefinitionArn = arn
	if p.Reason == "" {
		p.Reason = fmt.Sprintf("alarm %s: %s", in.Alarm.AlarmName, d.Detail)
	}
	return nil
}

// planRelease plans lifting a digest's quarantine: no lease, nothing on the
// service changes; finish writes it to the ledger with the record.
func (h *PlanHandler) planRelease(ctx context.Context, in contract.ExecutionInput, led ledger.Ledger, p contract.Plan) (contract.Plan, error) {
	p.Image = &contract.Image{Digest: in.Digest}
	q, ok := led.Quarantine(in.Digest)
	if !ok {
		p.Action, p.Reason = contract.ActionSkip, "not-quarantined: "+in.Digest+" is not quarantined on the service"
		return skipped(p), nil
	}
	p.Image.Repository = ""
	p.Reason = "released " + quarantined(q) + why(in.Reason)
	planLog(h.d.Log, p).InfoContext(ctx, "planned release", "digest", in.Digest)
	return skipped(p), nil
}

// quarantined explains a quarantine.
func quarantined(q ledger.Quarantine) string {
	return fmt.Sprintf("quarantined: %s was rolled back from %s by %s at %s (%s)",
		q.Digest, q.Revision, q.Execution, q.Since.UTC().Format(time.RFC3339), q.Reason)
}

// validate checks the execution input's shape; plan checks it against the
// service afterwards. Sizes first: the messages below quote values.
func validate(in contract.ExecutionInput) error {
	if err := in.CheckLimits(); err != nil {
		return err
	}
	bad := func(field, reason string) error { return &contract.BadInput{Field: field, Reason: reason} }
	switch in.Action {
	case contract.ActionDeploy, contract.ActionRollback, contract.ActionRedeploy, contract.ActionRelease:
	case "":
		return bad("action", "required (deploy, rollback, redeploy or release)")
	default:
		return bad("action", fmt.Sprintf("unknown action %q (want deploy, rollback, redeploy or release)", in.Action))
	}
	if in.Cluster == "" {
		return bad("cluster", "required")
	}
	if in.Service == "" {
		return bad("service", "required")
	}
	switch in.Trigger {
	case "", contract.TriggerManual:
		if in.Push != nil || in.Alarm != nil || in.Promotion != nil {
			return bad("trigger", "push, alarm and promotion are set by pushdeploy's functions only")
		}
	case contract.TriggerPush:
		if in.Push == nil || in.Action != contract.ActionDeploy {
			return bad("push", "a push trigger is a deploy with the push described")
		}
	case contract.TriggerPromotion:
		if in.Promotion == nil || in.Promotion.From == "" || in.Action != contract.ActionDeploy || in.Digest == "" || in.Push != nil || in.Alarm != nil {
			return bad("promotion", "a promotion trigger is a deploy of a digest with the leader described")
		}
	case contract.TriggerAlarm:
		if in.Alarm == nil || in.Alarm.AlarmName == "" || in.Action != contract.ActionRollback {
			return bad("alarm", "an alarm trigger is a rollback with the alarm described")
		}
	default:
		return bad("trigger", fmt.Sprintf("unknown trigger %q", in.Trigger))
	}
	if in.Force && (in.Trigger != "" && in.Trigger != contract.TriggerManual || in.Action != contract.ActionDeploy && in.Action != contract.ActionRollback) {
		return bad("force", "only a manual deploy or rollback can be forced")
	}
	switch in.Action {
	case contract.ActionRelease:
		if !taskdef.ValidDigest(in.Digest) {
			return bad("digest", fmt.Sprintf("release needs the quarantined digest (sha256:<64 hex>), got %q", in.Digest))
		}
		if in.Image != "" || in.Revision != "" || len(in.Containers) > 0 {
			return bad("image", "release takes a digest only")
		}
	case contract.ActionDeploy:
		if in.Image == "" && in.Digest == "" {
			return bad("image", "deploy needs an image (repository:tag or repository@sha256:...) or a digest")
		}
		if in.Revision != "" {
			return bad("revision", "only a rollback takes a revision")
		}
	default:
		if in.Image != "" || in.Digest != "" || len(in.Containers) > 0 {
			return bad("image", string(in.Action)+" takes no image, digest or containers")
		}
		if in.Action == contract.ActionRedeploy && in.Revision != "" {
			return bad("revision", "redeploy uses the current revision; use rollback to change it")
		}
	}
	return nil
}

func seconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// repositoryURI is registry/repository (the form task definitions use).
func repositoryURI(img taskdef.Image) string {
	if img.Registry == "" {
		return img.Repository
	}
	return img.Registry + "/" + img.Repository
}
