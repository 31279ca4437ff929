package handler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	tagtypes "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/pushdeploy/pushdeploy/internal/app/awsapi"
	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
	"github.com/pushdeploy/pushdeploy/internal/app/ledger"
	"github.com/pushdeploy/pushdeploy/internal/app/notify"
	"github.com/pushdeploy/pushdeploy/internal/app/target"
	"github.com/pushdeploy/pushdeploy/internal/app/taskdef"
	"github.com/pushdeploy/pushdeploy/internal/app/trigger"
)

const (
	account  = "123456789012"
	region   = "us-east-1"
	registry = account + ".dkr.ecr." + region + ".amazonaws.com"
	smArn    = "arn:aws:states:us-east-1:123456789012:stateMachine:pushdeploy-deploy"
	webArn   = "arn:aws:ecs:us-east-1:123456789012:service/prod/web"
	execArn  = "arn:aws:states:us-east-1:123456789012:execution:pushdeploy-deploy:run-1"
	tdPrefix = "arn:aws:ecs:us-east-1:123456789012:task-definition/"
)

var (
	digestOld = "sha256:" + strings.Repeat("1", 64)
	digestNew = "sha256:" + strings.Repeat("2", 64)
	t0        = time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)
)

func td(rev int) string { return fmt.Sprintf("%sweb:%d", tdPrefix, rev) }

// fakeECS keeps services and task definitions in memory and records the
// mutating calls.
type fakeECS struct {
	mu         sync.Mutex
	clusters   map[string]bool
	services   map[string]*ecstypes.Service // cluster/name
	defs       map[string]*ecstypes.TaskDefinition
	registered []*ecs.RegisterTaskDefinitionInput
	updates    []*ecs.UpdateServiceInput
	deregister []string
	updateErr  error
	// throttleUpdates fails that many UpdateService calls with throttling.
	throttleUpdates int
	now             func() time.Time
	// onUpdate runs after each UpdateService (outside the lock): scenarios
	// move the rollout along with it.
	onUpdate func(in *ecs.UpdateServiceInput)
}

func (f *fakeECS) mutations() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.registered) + len(f.updates) + len(f.deregister)
}

func (f *fakeECS) svc(cluster, name string) *ecstypes.Service {
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	return f.services[cluster+"/"+name]
}

func (f *fakeECS) DescribeServices(_ context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cluster := aws.ToString(in.Cluster)
	if i := strings.LastIndex(cluster, "/"); i >= 0 {
		cluster = cluster[i+1:]
	}
	if !f.clusters[cluster] {
		return nil, &ecstypes.ClusterNotFoundException{Message: aws.String("Cluster not found.")}
	}
	out := &ecs.DescribeServicesOutput{}
	for _, name := range in.Services {
		s := f.svc(cluster, name)
		if s == nil {
			out.Failures = append(out.Failures, ecstypes.Failure{Arn: aws.String(name), Reason: aws.String("MISSING")})
			continue
		}
		c := *s
		if !slices.Contains(in.Include, ecstypes.ServiceFieldTags) {
			c.Tags = nil
		}
		out.Services = append(out.Services, c)
	}
	return out, nil
}

func (f *fakeECS) def(name string) *ecstypes.TaskDefinition {
	name = strings.TrimPrefix(name, tdPrefix)
	return f.defs[name]
}

func (f *fakeECS) DescribeTaskDefinition(_ context.Context, in *ecs.DescribeTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.def(aws.ToString(in.TaskDefinition))
	if d == nil {
		return nil, &ecstypes.ClientException{Message: aws.String("Unable to describe task definition.")}
	}
	if d.Status == "" { // ECS always says; the fixtures mostly do not
		c := *d
		c.Status = ecstypes.TaskDefinitionStatusActive
		d = &c
	}
	return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: d, Tags: []ecstypes.Tag{{Key: aws.String("team"), Value: aws.String("web")}}}, nil
}

func (f *fakeECS) RegisterTaskDefinition(_ context.Context, in *ecs.RegisterTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.registered = append(f.registered, in)
	family := aws.ToString(in.Family)
	rev := 1
	for k := range f.defs {
		if r, err := taskdef.ParseRevision(k); err == nil && r.Family == family && r.Revision >= rev {
			rev = r.Revision + 1
		}
	}
	d := &ecstypes.TaskDefinition{Family: in.Family, Revision: int32(rev), ContainerDefinitions: in.ContainerDefinitions,
		TaskDefinitionArn: aws.String(fmt.Sprintf("%s%s:%d", tdPrefix, family, rev))}
	f.defs[fmt.Sprintf("%s:%d", family, rev)] = d
	return &ecs.RegisterTaskDefinitionOutput{TaskDefinition: d}, nil
}

func (f *fakeECS) UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	if err := attemptGuard(ctx, optFns); err != nil {
		return nil, err
	}
	out, err := f.updateService(in)
	if err == nil && f.onUpdate != nil {
		f.onUpdate(in)
	}
	return out, err
}

// attemptGuard runs what the call's options install before an attempt (the
// guarded update's lease check, Intend), as the SDK does before sending the
// request.
func attemptGuard(ctx context.Context, optFns []func(*ecs.Options)) error {
	o := ecs.Options{Retryer: aws.NopRetryer{}}
	for _, fn := range optFns {
		fn(&o)
	}
	if r, ok := o.Retryer.(aws.RetryerV2); ok {
		if _, err := r.GetAttemptToken(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeECS) updateService(in *ecs.UpdateServiceInput) (*ecs.UpdateServiceOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.updateErr != nil {
		return nil, f.updateErr
	}
	if f.throttleUpdates > 0 {
		f.throttleUpdates--
		return nil, throttleErr{}
	}
	s := f.svc(aws.ToString(in.Cluster), aws.ToString(in.Service))
	if s == nil {
		return nil, &ecstypes.ServiceNotFoundException{Message: aws.String("Service not found.")}
	}
	f.updates = append(f.updates, in)
	tdArn := tdPrefix + strings.TrimPrefix(aws.ToString(in.TaskDefinition), tdPrefix)
	s.TaskDefinition = aws.String(tdArn)
	var was []ecstypes.Deployment
	for _, d := range s.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			d.Status = aws.String("ACTIVE")
			was = append(was, d)
		}
	}
	s.Deployments = []ecstypes.Deployment{{Id: aws.String(fmt.Sprintf("ecs-svc/%d", len(f.updates))), Status: aws.String("PRIMARY"),
		TaskDefinition: aws.String(tdArn), RolloutState: ecstypes.DeploymentRolloutStateInProgress, CreatedAt: aws.Time(f.now()),
		DesiredCount: 2}}
	c := *s
	// ECS answers with the deployment it replaced, still ACTIVE; the
	// fake's service keeps only the new one (its rollouts judge that).
	c.Deployments = append(append([]ecstypes.Deployment(nil), s.Deployments...), was...)
	return &ecs.UpdateServiceOutput{Service: &c}, nil
}

func (f *fakeECS) DeregisterTaskDefinition(_ context.Context, in *ecs.DeregisterTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deregister = append(f.deregister, aws.ToString(in.TaskDefinition))
	return &ecs.DeregisterTaskDefinitionOutput{}, nil
}

// The fake's services report no currentServiceDeployment, so nothing asks
// for one: the deployments array judges (the fallback path).
func (f *fakeECS) DescribeServiceDeployments(context.Context, *ecs.DescribeServiceDeploymentsInput, ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error) {
	return nil, errors.New("fakeECS: no service deployments")
}

func (f *fakeECS) StopServiceDeployment(context.Context, *ecs.StopServiceDeploymentInput, ...func(*ecs.Options)) (*ecs.StopServiceDeploymentOutput, error) {
	return nil, errors.New("fakeECS: no service deployments")
}

func (f *fakeECS) ListTaskDefinitions(context.Context, *ecs.ListTaskDefinitionsInput, ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error) {
	return nil, fmt.Errorf("not used")
}
func (f *fakeECS) ListServices(context.Context, *ecs.ListServicesInput, ...func(*ecs.Options)) (*ecs.ListServicesOutput, error) {
	return nil, fmt.Errorf("not used")
}
func (f *fakeECS) ListClusters(context.Context, *ecs.ListClustersInput, ...func(*ecs.Options)) (*ecs.ListClustersOutput, error) {
	return nil, fmt.Errorf("not used")
}
func (f *fakeECS) ListTagsForResource(context.Context, *ecs.ListTagsForResourceInput, ...func(*ecs.Options)) (*ecs.ListTagsForResourceOutput, error) {
	return nil, fmt.Errorf("not used")
}

// setRollout sets the primary deployment's state (and optionally an old
// primary when ECS rolled back).
func (f *fakeECS) setPrimary(cluster, name, taskDef string, state ecstypes.DeploymentRolloutState, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.svc(cluster, name)
	s.TaskDefinition = aws.String(taskDef)
	id := "ecs-svc/1"
	if len(s.Deployments) > 0 {
		id = aws.ToString(s.Deployments[0].Id)
	}
	s.Deployments = []ecstypes.Deployment{{Id: aws.String(id), Status: aws.String("PRIMARY"), TaskDefinition: aws.String(taskDef),
		RolloutState: state, RolloutStateReason: aws.String(reason), DesiredCount: 2, RunningCount: 2}}
}

// fakeTagging serves GetResources from the fake ECS services' tags.
type fakeTagging struct{ ecs *fakeECS }

func (f *fakeTagging) GetResources(_ context.Context, in *resourcegroupstaggingapi.GetResourcesInput, _ ...func(*resourcegroupstaggingapi.Options)) (*resourcegroupstaggingapi.GetResourcesOutput, error) {
	f.ecs.mu.Lock()
	defer f.ecs.mu.Unlock()
	out := &resourcegroupstaggingapi.GetResourcesOutput{}
	keys := make([]string, 0, len(f.ecs.services))
	for k := range f.ecs.services {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := f.ecs.services[k]
		var tags []tagtypes.Tag
		m := map[string]string{}
		for _, t := range s.Tags {
			tags = append(tags, tagtypes.Tag{Key: t.Key, Value: t.Value})
			m[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		ok := true
		for _, flt := range in.TagFilters {
			v, has := m[aws.ToString(flt.Key)]
			ok = ok && has && (len(flt.Values) == 0 || slices.Contains(flt.Values, v))
		}
		if ok {
			out.ResourceTagMappingList = append(out.ResourceTagMappingList, tagtypes.ResourceTagMapping{ResourceARN: s.ServiceArn, Tags: tags})
		}
	}
	return out, nil
}

type fakeECR struct {
	images   map[string]map[string]string // repository -> tag -> digest
	pushedAt map[string]time.Time         // digest -> imagePushedAt
	calls    int
}

func (f *fakeECR) DescribeImages(_ context.Context, in *ecr.DescribeImagesInput, _ ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error) {
	f.calls++
	tags, ok := f.images[aws.ToString(in.RepositoryName)]
	if !ok {
		return nil, &ecrtypes.RepositoryNotFoundException{Message: aws.String("no repository")}
	}
	id := in.ImageIds[0]
	for tag, d := range tags {
		if tag == aws.ToString(id.ImageTag) || d == aws.ToString(id.ImageDigest) {
			det := ecrtypes.ImageDetail{ImageDigest: aws.String(d), ImageTags: []string{tag}}
			if at, ok := f.pushedAt[d]; ok {
				det.ImagePushedAt = aws.Time(at)
			}
			return &ecr.DescribeImagesOutput{ImageDetails: []ecrtypes.ImageDetail{det}}, nil
		}
	}
	return nil, &ecrtypes.ImageNotFoundException{Message: aws.String("image not found")}
}

// fakeCW answers DescribeAlarms as AWS does: without AlarmTypes, metric
// alarms only, so a caller that forgets composite alarms never sees them.
type fakeCW struct {
	alarms     []cwtypes.MetricAlarm
	composites []cwtypes.CompositeAlarm
	calls      int
	err        error
}

func (f *fakeCW) DescribeAlarms(_ context.Context, in *cloudwatch.DescribeAlarmsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	if len(in.AlarmNames) > 100 {
		return nil, &smithy.GenericAPIError{Code: "InvalidParameterValue", Message: "The parameter AlarmNames must have at most 100 members."}
	}
	metric := len(in.AlarmTypes) == 0 || slices.Contains(in.AlarmTypes, cwtypes.AlarmTypeMetricAlarm)
	composite := slices.Contains(in.AlarmTypes, cwtypes.AlarmTypeCompositeAlarm)
	out := &cloudwatch.DescribeAlarmsOutput{}
	for _, a := range f.alarms {
		if metric && slices.Contains(in.AlarmNames, aws.ToString(a.AlarmName)) {
			out.MetricAlarms = append(out.MetricAlarms, a)
		}
	}
	for _, a := range f.composites {
		if composite && slices.Contains(in.AlarmNames, aws.ToString(a.AlarmName)) {
			out.CompositeAlarms = append(out.CompositeAlarms, a)
		}
	}
	return out, nil
}

type sent struct{ token, output string }

type fakeSFN struct {
	mu      sync.Mutex
	started map[string]string // name -> input
	sent    []sent
	sendErr error
	// onSend, when set, delivers task results (to the engine).
	onSend func(token, output string) error
	// inputs are the executions DescribeExecution knows: ARN -> input.
	inputs      map[string]string
	describeErr error
	described   int
}

func (f *fakeSFN) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := aws.ToString(in.Name)
	if _, ok := f.started[name]; ok {
		return nil, &sfntypes.ExecutionAlreadyExists{Message: aws.String("Execution Already Exists: " + name)}
	}
	f.started[name] = aws.ToString(in.Input)
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String(executionARN(aws.ToString(in.StateMachineArn), name))}, nil
}

func (f *fakeSFN) SendTaskSuccess(_ context.Context, in *sfn.SendTaskSuccessInput, _ ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	f.mu.Lock()
	if f.sendErr != nil {
		f.mu.Unlock()
		return nil, f.sendErr
	}
	f.sent = append(f.sent, sent{aws.ToString(in.TaskToken), aws.ToString(in.Output)})
	onSend := f.onSend
	f.mu.Unlock()
	if onSend != nil {
		if err := onSend(aws.ToString(in.TaskToken), aws.ToString(in.Output)); err != nil {
			return nil, err
		}
	}
	return &sfn.SendTaskSuccessOutput{}, nil
}
func (f *fakeSFN) SendTaskFailure(context.Context, *sfn.SendTaskFailureInput, ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error) {
	return nil, fmt.Errorf("not used")
}
func (f *fakeSFN) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.described++
	if f.describeErr != nil {
		return nil, f.describeErr
	}
	input, ok := f.inputs[aws.ToString(in.ExecutionArn)]
	if !ok {
		return nil, &sfntypes.ExecutionDoesNotExist{Message: aws.String("Execution Does Not Exist: " + aws.ToString(in.ExecutionArn))}
	}
	return &sfn.DescribeExecutionOutput{ExecutionArn: in.ExecutionArn, Input: aws.String(input)}, nil
}

// fakeTriggers keeps trigger tickets in memory with package trigger's rules
// (the same input hash).
type fakeTriggers struct {
	mu      sync.Mutex
	tickets map[string]fakeTicket // service + " " + execution name
}

type fakeTicket struct {
	hash   string
	ticket trigger.Ticket
}

func (f *fakeTriggers) Issue(_ context.Context, service, execution string, in contract.ExecutionInput, t trigger.Ticket) error {
	h, err := trigger.InputHash(in)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tickets[service+" "+execution] = fakeTicket{hash: h, ticket: t}
	return nil
}

func (f *fakeTriggers) Verify(_ context.Context, service, execution string, in contract.ExecutionInput) (trigger.Ticket, error) {
	if !trigger.Trusted(in) {
		return trigger.Ticket{}, nil
	}
	h, err := trigger.InputHash(in)
	if err != nil {
		return trigger.Ticket{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	tk, ok := f.tickets[service+" "+execution]
	if !ok || tk.hash != h {
		return trigger.Ticket{}, &trigger.UntrustedError{Trigger: in.Trigger, Execution: execution, Reason: "no matching ticket"}
	}
	return tk.ticket, nil
}

// vouch issues the ticket dispatch would for execution name on the web
// service: the tests' push inputs carry their push time, taken as the order.
func (w *world) vouch(t *testing.T, name, input string) {
	t.Helper()
	in, err := contract.DecodeExecutionInput([]byte(input))
	if err != nil {
		t.Fatal(err)
	}
	var tk trigger.Ticket
	if in.Push != nil {
		tk = trigger.Ticket{Seq: in.Push.Time.UnixMilli(), Tie: in.Push.Digest}
	}
	if err := w.triggers.Issue(context.Background(), webArn, name, in, tk); err != nil {
		t.Fatal(err)
	}
}

// fakeLeases keeps leases in memory with package lease's rules for the
// cases the handlers meet.
type fakeLeases struct {
	mu       sync.Mutex
	now      func() time.Time
	state    map[string]coord.State
	acquires int
	released []string
	err      error // returned by every call when set
}

func (f *fakeLeases) Acquire(_ context.Context, r coord.Request) (coord.Acquired, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acquires++
	if f.err != nil {
		return coord.Acquired{}, f.err
	}
	st := f.state[r.Service]
	now := f.now()
	if st.Seq > r.Seq {
		return coord.Acquired{}, &coord.SupersededError{Service: r.Service, By: st.Holder, Seq: st.Seq}
	}
	if st.Held(now) && st.Holder != r.Holder && (r.Mode == coord.IfFree || st.Seq == r.Seq) {
		return coord.Acquired{}, &coord.HeldError{Service: r.Service, Holder: st.Holder, Until: st.Until}
	}
	var a coord.Acquired
	next := coord.State{Holder: r.Holder, Seq: r.Seq, Until: now.Add(r.TTL)}
	if st.Holder != "" && st.Holder != r.Holder {
		if st.Held(now) {
			a = coord.Acquired{Previous: st.Holder, PreviousToken: st.Token}
		}
		for _, rev := range append(slices.Clone(st.Pending), st.LateUpdates...) {
			if !slices.Contains(next.LateUpdates, rev) {
				next.LateUpdates = append(next.LateUpdates, rev)
			}
		}
	}
	f.state[r.Service] = next
	return a, nil
}

func (f *fakeLeases) Check(_ context.Context, service, holder string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if st := f.state[service]; st.Holder != holder {
		return &coord.SupersededError{Service: service, By: st.Holder, Seq: st.Seq}
	}
	return nil
}

func (f *fakeLeases) SetWait(_ context.Context, service, holder string, w coord.Wait) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.state[service]
	if st.Holder != holder {
		return &coord.SupersededError{Service: service, By: st.Holder, Seq: st.Seq}
	}
	st.Token, st.Wait = w.Token, &w
	f.state[service] = st
	return nil
}

func (f *fakeLeases) ClearToken(_ context.Context, service, token string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.state[service]
	if st.Token != token || token == "" {
		return false, nil
	}
	st.Token, st.Wait = "", nil
	f.state[service] = st
	return true, nil
}

func (f *fakeLeases) Release(_ context.Context, service, holder string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.state[service]
	if st.Holder != holder {
		return &coord.SupersededError{Service: service, By: st.Holder, Seq: st.Seq}
	}
	f.released = append(f.released, holder)
	f.state[service] = coord.State{Seq: st.Seq, LastHolder: holder}
	return nil
}

func (f *fakeLeases) Intend(_ context.Context, service, holder, rev string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	st := f.state[service]
	if st.Holder != holder {
		return &coord.SupersededError{Service: service, By: st.Holder, Seq: st.Seq}
	}
	if !slices.Contains(st.Pending, rev) {
		st.Pending = append(slices.Clone(st.Pending), rev)
	}
	f.state[service] = st
	return nil
}

func (f *fakeLeases) MarkLateUpdate(_ context.Context, service, rev string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return false, f.err
	}
	st := f.state[service]
	if st.Holder == "" {
		return false, nil
	}
	if !slices.Contains(st.LateUpdates, rev) {
		st.LateUpdates = append(slices.Clone(st.LateUpdates), rev)
	}
	f.state[service] = st
	return true, nil
}

func (f *fakeLeases) Get(_ context.Context, service string) (coord.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state[service], nil
}

type fakeHistory struct {
	mu       sync.Mutex
	records  []history.Record
	ledgers  map[string]ledger.Ledger
	families map[string][]string
	puts     int
}

func (f *fakeHistory) Put(_ context.Context, r history.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.put(r)
}

func (f *fakeHistory) put(r history.Record) error {
	f.puts++
	for _, x := range f.records {
		if x.ExecutionARN == r.ExecutionARN {
			return &history.DuplicateRecordError{ExecutionARN: r.ExecutionARN}
		}
	}
	f.records = append([]history.Record{r}, f.records...)
	return nil
}

func (f *fakeHistory) List(_ context.Context, service string, limit int, _ string) (history.Page, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var p history.Page
	for _, r := range f.records {
		if r.Service == service && len(p.Records) < limit {
			p.Records = append(p.Records, r)
		}
	}
	return p, nil
}

func (f *fakeHistory) Ledger(_ context.Context, service string) (ledger.Ledger, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ledgers[service], nil
}

// Finish is the store's transaction: the record and the ledger, or neither.
func (f *fakeHistory) Finish(_ context.Context, r history.Record, change func(ledger.Ledger) ledger.Change) (ledger.Change, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.ledgers[r.Service]
	c := change(l)
	for _, q := range c.Quarantine {
		r.Quarantined = append(r.Quarantined, q.Digest)
	}
	r.Released = c.Release
	if err := f.put(r); err != nil {
		return ledger.Change{}, err
	}
	l.Apply(c)
	f.ledgers[r.Service] = l
	return c, nil
}

func (f *fakeHistory) JoinFamily(_ context.Context, family, service string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Contains(f.families[family], service) {
		f.families[family] = append(f.families[family], service)
	}
	return slices.Clone(f.families[family]), nil
}

func (f *fakeHistory) Forget(_ context.Context, service string, revisions []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.ledgers[service]
	for _, r := range revisions {
		l = l.Without(r)
	}
	f.ledgers[service] = l
	return nil
}

// lastGoodOf is the service's last good revision ("" if none).
func (f *fakeHistory) lastGoodOf(service string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	lg, _ := f.ledgers[service].LastGood()
	return lg.Revision
}

// good records rev as the service's last good revision.
func (f *fakeHistory) good(service, rev string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.ledgers[service]
	l.Apply(ledger.Change{Execution: "earlier", At: t0.Add(-time.Hour), Marks: []ledger.Mark{{Revision: rev, Status: ledger.StatusGood, Via: ledger.ViaDeploy}}})
	f.ledgers[service] = l
}

type fakeNotifier struct {
	published []history.Record
	approvals []notify.ApprovalRequest
}

func (f *fakeNotifier) RequestApproval(_ context.Context, r notify.ApprovalRequest) error {
	f.approvals = append(f.approvals, r)
	return nil
}

func (f *fakeNotifier) Publish(_ context.Context, r history.Record) error {
	f.published = append(f.published, r)
	return nil
}

type fakeCleaner struct {
	calls [][]string // family, keep, then what was protected
	drop  []string   // the candidates
}

func (f *fakeCleaner) Candidates(_ context.Context, family string, keep int) ([]string, error) {
	f.calls = append(f.calls, []string{family, fmt.Sprint(keep)})
	return f.drop, nil
}

func (f *fakeCleaner) InUse(context.Context, []string) ([]string, error) { return nil, nil }

func (f *fakeCleaner) Deregister(_ context.Context, candidates, protect []string) ([]string, error) {
	last := &f.calls[len(f.calls)-1]
	*last = append(*last, protect...)
	var out []string
	for _, c := range candidates {
		if !slices.Contains(protect, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// world is one cluster "prod" with service "web" (containers app and
// envoy) following repository "web", plus the fakes around it.
type world struct {
	clk      *clock.Virtual
	ecs      *fakeECS
	tagging  *fakeTagging
	ecr      *fakeECR
	cw       *fakeCW
	sfn      *fakeSFN
	leases   *fakeLeases
	triggers *fakeTriggers
	history  *fakeHistory
	notifier *fakeNotifier
	cleaner  *fakeCleaner
	resolver *target.Resolver
	settings Settings
	logs     *bytes.Buffer
	log      *slog.Logger
	planEdit func(*contract.Plan) // a test's change to the plan under check
}

func newWorld(t *testing.T) *world {
	t.Helper()
	clk := clock.NewVirtual(t0)
	w := &world{clk: clk, logs: &bytes.Buffer{}}
	w.log = slog.New(slog.NewJSONHandler(w.logs, nil))
	w.ecs = &fakeECS{clusters: map[string]bool{"prod": true}, services: map[string]*ecstypes.Service{},
		defs: map[string]*ecstypes.TaskDefinition{}, now: clk.Now}
	w.ecs.defs["web:41"] = &ecstypes.TaskDefinition{
		Family: aws.String("web"), Revision: 41, TaskDefinitionArn: aws.String(td(41)),
		ContainerDefinitions: []ecstypes.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String(registry + "/web@" + digestOld), Essential: aws.Bool(true)},
			{Name: aws.String("envoy"), Image: aws.String("public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29")},
		},
	}
	w.ecs.defs["web:40"] = &ecstypes.TaskDefinition{Family: aws.String("web"), Revision: 40, TaskDefinitionArn: aws.String(td(40)),
		ContainerDefinitions: w.ecs.defs["web:41"].ContainerDefinitions}
	w.ecs.defs["api:3"] = &ecstypes.TaskDefinition{Family: aws.String("api"), Revision: 3, TaskDefinitionArn: aws.String(tdPrefix + "api:3")}
	w.addService("web", td(41), map[string]string{
		target.TagRepository: "web", target.TagTags: "v*,latest", target.TagContainers: "app",
		target.TagAlarms: "web-5xx", target.TagBake: "10m", target.TagTimeout: "20m",
	})
	w.tagging = &fakeTagging{ecs: w.ecs}
	w.ecr = &fakeECR{images: map[string]map[string]string{"web": {"v41": digestOld, "v42": digestNew}}}
	w.cw = &fakeCW{alarms: []cwtypes.MetricAlarm{{AlarmName: aws.String("web-5xx"), StateValue: cwtypes.StateValueOk,
		StateUpdatedTimestamp: aws.Time(t0.Add(-time.Hour))}}}
	w.sfn = &fakeSFN{started: map[string]string{}}
	w.leases = &fakeLeases{now: clk.Now, state: map[string]coord.State{}}
	w.history = &fakeHistory{ledgers: map[string]ledger.Ledger{}, families: map[string][]string{}}
	w.triggers = &fakeTriggers{tickets: map[string]fakeTicket{}}
	w.notifier = &fakeNotifier{}
	w.cleaner = &fakeCleaner{}
	var err error
	w.settings, err = SettingsFromEnv(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if w.resolver, err = target.NewResolver(w.ecs, w.tagging, w.settings.Defaults); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) addService(name, taskDef string, tags map[string]string) {
	s := &ecstypes.Service{
		ServiceName: aws.String(name), ServiceArn: aws.String("arn:aws:ecs:us-east-1:123456789012:service/prod/" + name),
		ClusterArn: aws.String("arn:aws:ecs:us-east-1:123456789012:cluster/prod"), Status: aws.String("ACTIVE"),
		TaskDefinition: aws.String(taskDef),
		Deployments: []ecstypes.Deployment{{Id: aws.String("ecs-svc/0"), Status: aws.String("PRIMARY"), TaskDefinition: aws.String(taskDef),
			RolloutState: ecstypes.DeploymentRolloutStateCompleted, DesiredCount: 2, RunningCount: 2}},
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s.Tags = append(s.Tags, ecstypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	w.ecs.services["prod/"+name] = s
}

// envOf is the template's environment with overrides.
func envOf(over map[string]string) func(string) string {
	env := map[string]string{
		EnvHistoryTable: "pushdeploy-history", EnvStateMachineArn: smArn, EnvDefaultBake: "5m",
		EnvDeployTimeout: "30m", EnvRollbackWindow: "30m", EnvHistoryRetentionDays: "90", EnvKeepRevisions: "10",
		EnvEventBusName: "default",
	}
	for k, v := range over {
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

// leaseWaiting is a lease whose holder parked the rollout wait of web:42
// (the service runs web:41 unless a test changes it).
func leaseWaiting() coord.State {
	return leaseWaitingIn(contract.PhaseRollout)
}

func leaseWaitingIn(ph contract.Phase) coord.State {
	p := contract.Plan{
		ExecutionArn: execArn, Action: contract.ActionDeploy, Trigger: contract.TriggerPush,
		Cluster: "prod", Service: "web", ServiceArn: webArn,
		Containers: []string{"app"}, CurrentTaskDefinitionArn: td(41), UndoTaskDefinitionArn: td(40),
		Alarms: []string{"web-5xx"}, BakeSeconds: 600, TimeoutSeconds: 1200, LeaseOwner: execArn,
	}
	u := contract.UpdateResult{PreviousTaskDefinitionArn: td(41), TaskDefinitionArn: td(42), DeploymentID: "ecs-svc/1", StartedAt: t0}
	w := NewWait("tok1", ph, p, u, t0)
	return coord.State{Holder: execArn, Seq: 1, Until: t0.Add(time.Hour), Token: "tok1", Wait: &w}
}

func mustEvaluator(t *testing.T, e awsapi.ECS, cw awsapi.CloudWatch, l LeaseReader, clk clock.Clock) *Evaluator {
	t.Helper()
	ev, err := NewEvaluator(e, cw, l, clk)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}
