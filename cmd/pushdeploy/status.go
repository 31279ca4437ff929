package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
	"github.com/pushdeploy/pushdeploy/internal/app/ledger"
)

// serviceStatus is what `pushdeploy status` reports.
type serviceStatus struct {
	Cluster        string            `json:"cluster"`
	Service        string            `json:"service"`
	ServiceArn     string            `json:"serviceArn"`
	TaskDefinition string            `json:"taskDefinitionArn"`
	Images         []containerImage  `json:"images"`
	Deployments    []deploymentState `json:"deployments"`
	// Strategy is the service's ECS deployment strategy; ServiceDeployment
	// its current ECS service deployment, when ECS reports one.
	Strategy          string                  `json:"strategy,omitempty"`
	ServiceDeployment *serviceDeploymentState `json:"serviceDeployment,omitempty"`
	Config            map[string]string       `json:"config,omitempty"` // pushdeploy:* tags
	LastGood          *ledger.Revision        `json:"lastGood,omitempty"`
	// Quarantined are the digests pushes do not deploy (package ledger).
	Quarantined []ledger.Quarantine `json:"quarantined"`
	LastRecord  *history.Record     `json:"lastRecord,omitempty"`
	Lease       *leaseStatus        `json:"lease,omitempty"`
	// InFlight are the running executions for this service (needs the
	// state machine ARN).
	InFlight []inFlight `json:"inFlight"`
}

type containerImage struct {
	Container string `json:"container"`
	Image     string `json:"image"`
}

type deploymentState struct {
	ID             string    `json:"id"`
	Status         string    `json:"status"`
	RolloutState   string    `json:"rolloutState,omitempty"`
	TaskDefinition string    `json:"taskDefinitionArn"`
	Desired        int32     `json:"desired"`
	Running        int32     `json:"running"`
	Failed         int32     `json:"failed"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

// serviceDeploymentState is the service's current ECS service deployment:
// where it is in its lifecycle and how production traffic is split.
type serviceDeploymentState struct {
	Arn            string `json:"serviceDeploymentArn"`
	Status         string `json:"status"`
	LifecycleStage string `json:"lifecycleStage,omitempty"`
	StatusReason   string `json:"statusReason,omitempty"`
	// TargetTraffic and SourceTraffic are the production traffic weights, in
	// percent, of the revision being deployed and of the ones it replaces.
	TargetTraffic *float64 `json:"targetTraffic,omitempty"`
	SourceTraffic *float64 `json:"sourceTraffic,omitempty"`
}

type leaseStatus struct {
	Holder string    `json:"holder,omitempty"`
	Until  time.Time `json:"until,omitempty"`
	// HolderStatus is the holder execution's status (RUNNING...), when
	// Step Functions knows it.
	HolderStatus string `json:"holderStatus,omitempty"`
	// Held: a holder whose execution is running, or whose lease has not
	// expired by this machine's clock (the local cloud's clock may differ).
	Held       bool   `json:"held"`
	LastHolder string `json:"lastHolder,omitempty"`
}

type inFlight struct {
	ExecutionArn string    `json:"executionArn"`
	Name         string    `json:"name"`
	StartedAt    time.Time `json:"startedAt"`
	Action       string    `json:"action,omitempty"`
	Trigger      string    `json:"trigger,omitempty"`
}

// runStatus is `pushdeploy status`.
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("status", "--cluster C --service S [--output json]",
		"Shows a service's current revision and images, its ECS deployments (with its deployment\n"+
			"strategy, and its service deployment's lifecycle stage and traffic split), its last good\n"+
			"revision and last record, who holds its lease (and until when), and the executions\n"+
			"in flight for it (when the state machine is known).",
		stdout, stderr)
	f := newServiceFlags(c)
	stateMachine := stringFlagEnv(c.fs, "state-machine", envStateMachine, "ARN of the deploy state machine, for the executions in flight (optional)")
	if _, code, done := c.parse(args, 0); done {
		return code
	}
	if code, ok := f.check(c); !ok {
		return code
	}
	cfg, err := f.aws.config(ctx)
	if err != nil {
		return c.fail(err)
	}
	st, err := collectStatus(ctx, cfg, *f.cluster, *f.service, *f.table, *stateMachine)
	if err != nil {
		return c.fail(err)
	}
	if f.out.json() {
		if err := writeJSON(stdout, st); err != nil {
			return c.fail(err)
		}
		return exitOK
	}
	writeStatus(stdout, st, *stateMachine != "")
	return exitOK
}

func collectStatus(ctx context.Context, cfg aws.Config, cluster, service, table, stateMachine string) (*serviceStatus, error) {
	ecsc := ecs.NewFromConfig(cfg)
	svc, err := describeService(ctx, ecsc, cluster, service)
	if err != nil {
		return nil, err
	}
	arn := aws.ToString(svc.ServiceArn)
	st := &serviceStatus{
		Cluster: shortName(aws.ToString(svc.ClusterArn)), Service: aws.ToString(svc.ServiceName), ServiceArn: arn,
		TaskDefinition: aws.ToString(svc.TaskDefinition), InFlight: []inFlight{}, Images: []containerImage{},
	}
	for k, v := range serviceTags(svc) {
		if strings.HasPrefix(k, "pushdeploy:") {
			if st.Config == nil {
				st.Config = map[string]string{}
			}
			st.Config[k] = v
		}
	}
	for _, d := range svc.Deployments {
		st.Deployments = append(st.Deployments, deploymentState{
			ID: aws.ToString(d.Id), Status: aws.ToString(d.Status), RolloutState: string(d.RolloutState),
			TaskDefinition: aws.ToString(d.TaskDefinition), Desired: d.DesiredCount, Running: d.RunningCount,
			Failed: d.FailedTasks, UpdatedAt: aws.ToTime(d.UpdatedAt).UTC(),
		})
		if aws.ToString(d.Status) == "PRIMARY" {
			st.TaskDefinition = aws.ToString(d.TaskDefinition)
		}
	}
	if dc := svc.DeploymentConfiguration; dc != nil {
		st.Strategy = string(dc.Strategy)
	}
	if sdArn := aws.ToString(svc.CurrentServiceDeployment); sdArn != "" {
		if st.ServiceDeployment, err = readServiceDeployment(ctx, ecsc, sdArn); err != nil {
			return nil, err
		}
	}
	td, err := ecsc.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(st.TaskDefinition)})
	if err != nil {
		return nil, fmt.Errorf("describe task definition %s: %w", st.TaskDefinition, err)
	}
	for _, cd := range td.TaskDefinition.ContainerDefinitions {
		st.Images = append(st.Images, containerImage{Container: aws.ToString(cd.Name), Image: aws.ToString(cd.Image)})
	}

	db := dynamodb.NewFromConfig(cfg)
	hs, err := history.New(db, table, 0)
	if err != nil {
		return nil, err
	}
	led, err := hs.Ledger(ctx, arn)
	if err != nil {
		return nil, err
	}
	if lg, ok := led.LastGood(); ok {
		st.LastGood = &lg
	}
	st.Quarantined = append([]ledger.Quarantine{}, led.Quarantined...)
	if rec, ok, err := hs.Latest(ctx, arn); err != nil {
		return nil, err
	} else if ok {
		st.LastRecord = &rec
	}
	ls, err := coord.New(db, table, clock.Real{})
	if err != nil {
		return nil, err
	}
	l, err := ls.Get(ctx, arn)
	if err != nil {
		return nil, err
	}
	if l.Holder != "" || l.LastHolder != "" {
		st.Lease = &leaseStatus{Holder: l.Holder, Until: l.Until, Held: l.Held(time.Now()), LastHolder: l.LastHolder}
		if strings.HasPrefix(l.Holder, "arn:") {
			// Best effort: a holder that is not an execution we can see
			// keeps the clock's verdict.
			if d, err := sfn.NewFromConfig(cfg).DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(l.Holder)}); err == nil {
				st.Lease.HolderStatus = string(d.Status)
				st.Lease.Held = st.Lease.Held || d.Status == sfntypes.ExecutionStatusRunning
			}
		}
	}
	if stateMachine != "" {
		if st.InFlight, err = runningFor(ctx, sfn.NewFromConfig(cfg), stateMachine, st); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// runningFor lists the state machine's running executions whose input
// names this service.
func runningFor(ctx context.Context, api sfnAPI, stateMachine string, st *serviceStatus) ([]inFlight, error) {
	found := []inFlight{}
	in := &sfn.ListExecutionsInput{StateMachineArn: aws.String(stateMachine), StatusFilter: sfntypes.ExecutionStatusRunning, MaxResults: 100}
	for {
		out, err := api.ListExecutions(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list running executions: %w", err)
		}
		for _, e := range out.Executions {
			d, err := api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: e.ExecutionArn})
			if err != nil {
				return nil, fmt.Errorf("describe execution %s: %w", aws.ToString(e.ExecutionArn), err)
			}
			var x contract.ExecutionInput
			if json.Unmarshal([]byte(aws.ToString(d.Input)), &x) != nil {
				continue
			}
			if !sameName(x.Service, st.Service, st.ServiceArn) || !sameName(x.Cluster, st.Cluster, "") {
				continue
			}
			trig := string(x.Trigger)
			if trig == "" {
				trig = string(contract.TriggerManual)
			}
			found = append(found, inFlight{ExecutionArn: aws.ToString(e.ExecutionArn), Name: aws.ToString(e.Name),
				StartedAt: aws.ToTime(e.StartDate).UTC(), Action: string(x.Action), Trigger: trig})
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	sort.Slice(found, func(i, j int) bool { return found[i].StartedAt.Before(found[j].StartedAt) })
	return found, nil
}

// sameName compares a name or ARN given in an input with a resource's name
// (and ARN).
func sameName(given, name, arn string) bool {
	return given == name || (arn != "" && given == arn) || shortName(given) == name
}

// shortName is the last path element of an ARN (cluster/service names).
func shortName(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

func writeStatus(w io.Writer, st *serviceStatus, knowsExecutions bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "service\t%s (cluster %s)\n", st.Service, st.Cluster)
	fmt.Fprintf(tw, "revision\t%s\n", shortRevision(st.TaskDefinition))
	for _, i := range st.Images {
		fmt.Fprintf(tw, "  %s\t%s\n", i.Container, i.Image)
	}
	lg := "none recorded"
	if st.LastGood != nil {
		lg = fmt.Sprintf("%s (since %s)", shortRevision(st.LastGood.Revision), st.LastGood.Since.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "last good\t%s\n", lg)
	for _, q := range st.Quarantined {
		fmt.Fprintf(tw, "quarantined\t%s (rolled back from %s at %s)\n", q.Digest, shortRevision(q.Revision), q.Since.UTC().Format(time.RFC3339))
	}
	if r := st.LastRecord; r != nil {
		fmt.Fprintf(tw, "last record\t%s %s %s at %s\n", r.Action, r.Outcome, shortRevision(r.ToRevision), r.FinishedAt.UTC().Format(time.RFC3339))
		for _, w := range r.Warnings {
			fmt.Fprintf(tw, "warning\t%s\n", w)
		}
	}
	switch l := st.Lease; {
	case l == nil || l.Holder == "":
		fmt.Fprintf(tw, "lease\tfree\n")
	case l.Held:
		fmt.Fprintf(tw, "lease\theld by %s until %s", l.Holder, l.Until.UTC().Format(time.RFC3339))
		if l.HolderStatus != "" {
			fmt.Fprintf(tw, " (%s)", l.HolderStatus)
		}
		fmt.Fprintln(tw)
	default:
		fmt.Fprintf(tw, "lease\texpired (%s, until %s)\n", l.Holder, l.Until.UTC().Format(time.RFC3339))
	}
	if st.Strategy != "" {
		fmt.Fprintf(tw, "strategy\t%s\n", st.Strategy)
	}
	if sd := st.ServiceDeployment; sd != nil {
		fmt.Fprintf(tw, "ecs deploy\t%s\n", sd.text(st.Strategy))
	}
	for _, d := range st.Deployments {
		fmt.Fprintf(tw, "deployment\t%s %s %s %d/%d running", d.Status, dash(d.RolloutState), shortRevision(d.TaskDefinition), d.Running, d.Desired)
		if d.Failed > 0 {
			fmt.Fprintf(tw, ", %d failed", d.Failed)
		}
		fmt.Fprintln(tw)
	}
	switch {
	case !knowsExecutions:
		fmt.Fprintf(tw, "in flight\tunknown (no --state-machine)\n")
	case len(st.InFlight) == 0:
		fmt.Fprintf(tw, "in flight\tnone\n")
	default:
		for _, e := range st.InFlight {
			fmt.Fprintf(tw, "in flight\t%s %s since %s: %s\n", e.Action, e.Trigger, e.StartedAt.Format(time.RFC3339), e.ExecutionArn)
		}
	}
	tw.Flush()
}
