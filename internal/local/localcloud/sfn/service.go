// Package sfn is the local cloud's AWS Step Functions API (AWS JSON 1.0),
// running state machines on the internal/local/states engine and the local
// cloud's clock. Task states reach the other local services through the
// local cloud's own HTTP handler, so their calls are logged and faults apply.
package sfn

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
	"github.com/pushdeploy/pushdeploy/internal/local/states"
)

// TargetPrefix is the X-Amz-Target prefix of the Step Functions API.
const TargetPrefix = "AWSStepFunctions"

// nameReuse is how long a closed execution's name stays taken.
const nameReuse = 90 * 24 * time.Hour

// Options configure the service.
type Options struct {
	Clock   clock.Clock // default clock.Real{}
	Account string      // default 123456789012
	Region  string      // default us-east-1
	// Cloud is the local cloud's HTTP handler (the localcloud.Server): Task
	// states call Lambda, EventBridge and aws-sdk services through it. It
	// may be set later with SetCloud.
	Cloud http.Handler
}

// Service is the local Step Functions.
type Service struct {
	clk     clock.Clock
	account string
	region  string
	engine  *states.Engine

	mu         sync.Mutex
	cloud      http.Handler
	machines   map[string]*stateMachine // by ARN
	executions map[string]*execution    // by ARN
	byMachine  map[string][]*execution  // state machine ARN -> executions, oldest first
}

type stateMachine struct {
	arn, name  string
	typ        string
	definition string
	machine    *states.Machine
	roleArn    string
	created    time.Time
	updated    time.Time
	revisionID string
	logging    json.RawMessage
	tracing    json.RawMessage
	tags       map[string]string
}

type execution struct {
	arn, name string
	sm        stateMachine // as it was when the execution started
	input     string
	start     time.Time
	x         *states.Execution
}

// New returns a Step Functions service with no state machines.
func New(opts Options) (*Service, error) {
	opts.Clock, opts.Account, opts.Region = awsproto.WithDefaults(opts.Clock, opts.Account, opts.Region)
	s := &Service{
		clk: opts.Clock, account: opts.Account, region: opts.Region, cloud: opts.Cloud,
		machines: map[string]*stateMachine{}, executions: map[string]*execution{}, byMachine: map[string][]*execution{},
	}
	s.engine = states.NewEngine(states.EngineOptions{Clock: opts.Clock, Tasks: s})
	return s, nil
}

// SetCloud sets the handler Task states call services through.
func (s *Service) SetCloud(h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cloud = h
}

// Engine is the engine executions run on.
func (s *Service) Engine() *states.Engine { return s.engine }

func (s *Service) Name() string         { return "sfn" }
func (s *Service) TargetPrefix() string { return TargetPrefix }

// Close aborts every running execution, so that nothing waits on the clock
// afterwards.
func (s *Service) Close() {
	s.mu.Lock()
	var running []*states.Execution
	for _, e := range s.executions {
		running = append(running, e.x)
	}
	s.mu.Unlock()
	for _, x := range running {
		x.Stop("States.Aborted", "the local cloud is shutting down")
	}
}

// Call serves one Step Functions operation.
func (s *Service) Call(ctx context.Context, op string, input json.RawMessage) (any, error) {
	switch op {
	case "CreateStateMachine":
		return awsproto.Call(ctx, input, s.createStateMachine)
	case "UpdateStateMachine":
		return awsproto.Call(ctx, input, s.updateStateMachine)
	case "DescribeStateMachine":
		return awsproto.Call(ctx, input, s.describeStateMachine)
	case "ListStateMachines":
		return awsproto.Call(ctx, input, s.listStateMachines)
	case "DeleteStateMachine":
		return awsproto.Call(ctx, input, s.deleteStateMachine)
	case "StartExecution":
		return awsproto.Call(ctx, input, s.startExecution)
	case "DescribeExecution":
		return awsproto.Call(ctx, input, s.describeExecution)
	case "DescribeStateMachineForExecution":
		return awsproto.Call(ctx, input, s.describeStateMachineForExecution)
	case "ListExecutions":
		return awsproto.Call(ctx, input, s.listExecutions)
	case "GetExecutionHistory":
		return awsproto.Call(ctx, input, s.getExecutionHistory)
	case "StopExecution":
		return awsproto.Call(ctx, input, s.stopExecution)
	case "SendTaskSuccess":
		return awsproto.Call(ctx, input, s.sendTaskSuccess)
	case "SendTaskFailure":
		return awsproto.Call(ctx, input, s.sendTaskFailure)
	case "SendTaskHeartbeat":
		return awsproto.Call(ctx, input, s.sendTaskHeartbeat)
	case "ValidateStateMachineDefinition":
		return awsproto.Call(ctx, input, s.validateDefinition)
	case "TagResource":
		return awsproto.Call(ctx, input, s.tagResource)
	case "UntagResource":
		return awsproto.Call(ctx, input, s.untagResource)
	case "ListTagsForResource":
		return awsproto.Call(ctx, input, s.listTagsForResource)
	}
	return nil, awsproto.UnknownOperation("sfn", op)
}

// epoch renders t as the JSON protocols' timestamps: seconds, milliseconds
// as a fraction.
func epoch(t time.Time) json.Number {
	if t.IsZero() {
		return ""
	}
	return json.Number(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64))
}

var namePattern = regexp.MustCompile("^[^\\s<>{}\\[\\]?*\"#%\\\\^|~`$&,;:/\\x00-\\x1f\\x7f-\\x9f]{1,80}$")

func checkName(name string) error {
	if !namePattern.MatchString(name) {
		return awsproto.Errorf("InvalidName", "Invalid Name: '%s'", name)
	}
	return nil
}

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type createStateMachineInput struct {
	Name                 string
	Definition           string
	RoleArn              string
	Type                 string
	LoggingConfiguration json.RawMessage
	TracingConfiguration json.RawMessage
	Tags                 []tag
	Description          string `json:"versionDescription"`
}

// parseDefinition checks a definition with the engine's parser.
func parseDefinition(def string) (*states.Machine, error) {
	m, err := states.Parse([]byte(def))
	if err != nil {
		var de *states.DefinitionError
		if errors.As(err, &de) {
			return nil, awsproto.Errorf("InvalidDefinition", "Invalid State Machine Definition: '%s'", strings.Join(de.Problems, ", "))
		}
		return nil, awsproto.Errorf("InvalidDefinition", "Invalid State Machine Definition: '%v'", err)
	}
	return m, nil
}

var roleArn = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/.+$`)

func checkRole(arn string) error {
	if !roleArn.MatchString(arn) {
		return awsproto.Errorf("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	return nil
}

func (s *Service) createStateMachine(ctx context.Context, in *createStateMachineInput) (any, error) {
	awsproto.Note(ctx, "name", in.Name)
	if err := checkName(in.Name); err != nil {
		return nil, err
	}
	if err := checkRole(in.RoleArn); err != nil {
		return nil, err
	}
	if in.Type == "" {
		in.Type = "STANDARD"
	}
	if in.Type != "STANDARD" && in.Type != "EXPRESS" {
		return nil, awsproto.Validation("1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]", in.Type)
	}
	m, err := parseDefinition(in.Definition)
	if err != nil {
		return nil, err
	}
	arn := fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", s.region, s.account, in.Name)
	now := s.clk.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.machines[arn]; ok {
		// Idempotent for the same definition, role and type, as on AWS.
		if old.definition == in.Definition && old.roleArn == in.RoleArn && old.typ == in.Type {
			return map[string]any{"stateMachineArn": arn, "creationDate": epoch(old.created)}, nil
		}
		return nil, awsproto.Errorf("StateMachineAlreadyExists", "State Machine Already Exists: '%s'", arn)
	}
	sm := &stateMachine{
		arn: arn, name: in.Name, typ: in.Type, definition: in.Definition, machine: m, roleArn: in.RoleArn,
		created: now, updated: now, revisionID: newID(), logging: in.LoggingConfiguration, tracing: in.TracingConfiguration,
		tags: map[string]string{},
	}
	for _, t := range in.Tags {
		sm.tags[t.Key] = t.Value
	}
	s.machines[arn] = sm
	return map[string]any{"stateMachineArn": arn, "creationDate": epoch(now)}, nil
}

type updateStateMachineInput struct {
	StateMachineArn      string
	Definition           *string
	RoleArn              *string
	LoggingConfiguration json.RawMessage
	TracingConfiguration json.RawMessage
}

func (s *Service) updateStateMachine(ctx context.Context, in *updateStateMachineInput) (any, error) {
	awsproto.Note(ctx, "stateMachine", lastPart(in.StateMachineArn))
	if in.Definition == nil && in.RoleArn == nil && in.LoggingConfiguration == nil && in.TracingConfiguration == nil {
		return nil, awsproto.Errorf("MissingRequiredParameter", "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified")
	}
	var m *states.Machine
	if in.Definition != nil {
		var err error
		if m, err = parseDefinition(*in.Definition); err != nil {
			return nil, err
		}
	}
	if in.RoleArn != nil {
		if err := checkRole(*in.RoleArn); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sm, err := s.machineLocked(in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	// Running executions keep the machine they started with: sm is replaced, not changed.
	next := *sm
	if m != nil {
		next.definition, next.machine = *in.Definition, m
	}
	if in.RoleArn != nil {
		next.roleArn = *in.RoleArn
	}
	if in.LoggingConfiguration != nil {
		next.logging = in.LoggingConfiguration
	}
	if in.TracingConfiguration != nil {
		next.tracing = in.TracingConfiguration
	}
	next.updated = s.clk.Now()
	next.revisionID = newID()
	s.machines[sm.arn] = &next
	return map[string]any{"updateDate": epoch(next.updated), "revisionId": next.revisionID}, nil
}

func (s *Service) machineLocked(arn string) (*stateMachine, error) {
	if !strings.HasPrefix(arn, "arn:aws:states:") || !strings.Contains(arn, ":stateMachine:") {
		return nil, awsproto.Errorf("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	sm, ok := s.machines[arn]
	if !ok {
		return nil, awsproto.Errorf("StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", arn)
	}
	return sm, nil
}

type arnInput struct {
	StateMachineArn string
	ExecutionArn    string
}

func describeMachine(sm *stateMachine) map[string]any {
	out := map[string]any{
		"stateMachineArn": sm.arn, "name": sm.name, "status": "ACTIVE", "definition": sm.definition,
		"roleArn": sm.roleArn, "type": sm.typ, "creationDate": epoch(sm.created), "revisionId": sm.revisionID,
		"loggingConfiguration": json.RawMessage(`{"level":"OFF","includeExecutionData":false}`),
		"tracingConfiguration": json.RawMessage(`{"enabled":false}`),
	}
	if sm.logging != nil {
		out["loggingConfiguration"] = sm.logging
	}
	if sm.tracing != nil {
		out["tracingConfiguration"] = sm.tracing
	}
	return out
}

func (s *Service) describeStateMachine(ctx context.Context, in *arnInput) (any, error) {
	awsproto.Note(ctx, "stateMachine", lastPart(in.StateMachineArn))
	s.mu.Lock()
	defer s.mu.Unlock()
	sm, err := s.machineLocked(in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	return describeMachine(sm), nil
}

type pageInput struct {
	MaxResults int
	NextToken  string
}

// page cuts n items by an opaque token holding the offset.
func page(in pageInput, n, def int) (start, end int, next string, err error) {
	max := in.MaxResults
	if max <= 0 {
		max = def
	}
	if max > 1000 {
		return 0, 0, "", awsproto.Validation("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000", max)
	}
	if in.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		off, perr := strconv.Atoi(strings.TrimPrefix(string(b), "off:"))
		if err != nil || perr != nil || off < 0 || off > n {
			return 0, 0, "", awsproto.Errorf("InvalidToken", "Invalid Token: '%s'", in.NextToken)
		}
		start = off
	}
	end = min(start+max, n)
	if end < n {
		next = base64.RawURLEncoding.EncodeToString([]byte("off:" + strconv.Itoa(end)))
	}
	return start, end, next, nil
}

func (s *Service) listStateMachines(ctx context.Context, in *pageInput) (any, error) {
	s.mu.Lock()
	all := make([]*stateMachine, 0, len(s.machines))
	for _, sm := range s.machines {
		all = append(all, sm)
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].name < all[j].name })
	start, end, next, err := page(*in, len(all), 100)
	if err != nil {
		return nil, err
	}
	items := []map[string]any{}
	for _, sm := range all[start:end] {
		items = append(items, map[string]any{"stateMachineArn": sm.arn, "name": sm.name, "type": sm.typ, "creationDate": epoch(sm.created)})
	}
	out := map[string]any{"stateMachines": items}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (s *Service) deleteStateMachine(ctx context.Context, in *arnInput) (any, error) {
	awsproto.Note(ctx, "stateMachine", lastPart(in.StateMachineArn))
	s.mu.Lock()
	defer s.mu.Unlock()
	sm, err := s.machineLocked(in.StateMachineArn)
	if err != nil {
		if e, ok := err.(*awsproto.Error); ok && e.Type == "StateMachineDoesNotExist" {
			return struct{}{}, nil // deleting is idempotent on AWS
		}
		return nil, err
	}
	// Executions are kept: they can still be described and run to their end.
	delete(s.machines, sm.arn)
	return struct{}{}, nil
}

type startExecutionInput struct {
	StateMachineArn string
	Name            string
	Input           *string
	TraceHeader     string
}

func (s *Service) startExecution(ctx context.Context, in *startExecutionInput) (any, error) {
	awsproto.Note(ctx, "stateMachine", lastPart(in.StateMachineArn))
	if in.Name != "" {
		awsproto.Note(ctx, "name", in.Name)
	}
	input := "{}"
	if in.Input != nil {
		input = *in.Input
	}
	e, err := s.start(in.StateMachineArn, in.Name, input)
	if err != nil {
		return nil, err
	}
	return map[string]any{"executionArn": e.arn, "startDate": epoch(e.start)}, nil
}

// StartExecutionFromEvent starts an execution for an EventBridge target
// (eventbridge.ExecutionStarter); the engine runs it in its own goroutine.
func (s *Service) StartExecutionFromEvent(ctx context.Context, stateMachineARN string, input []byte) error {
	_, err := s.start(stateMachineARN, "", string(input))
	return err
}

// StartExecution is the Go form of the API call.
func (s *Service) StartExecution(ctx context.Context, stateMachineARN, name, input string) (string, error) {
	e, err := s.start(stateMachineARN, name, input)
	if err != nil {
		return "", err
	}
	return e.arn, nil
}

func (s *Service) start(smArn, name, input string) (*execution, error) {
	if name == "" {
		name = newID()
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	if len(input) > 256*1024 {
		return nil, awsproto.Errorf("InvalidExecutionInput", "Input must be at most 262144 bytes")
	}
	if !json.Valid([]byte(input)) {
		return nil, awsproto.Errorf("InvalidExecutionInput", "Invalid State Machine Execution Input: 'Unexpected input: not valid JSON'")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sm, err := s.machineLocked(smArn)
	if err != nil {
		return nil, err
	}
	arn := fmt.Sprintf("arn:aws:states:%s:%s:execution:%s:%s", s.region, s.account, sm.name, name)
	now := s.clk.Now()
	if old, ok := s.executions[arn]; ok {
		running := old.x.Status() == states.StatusRunning
		if running && old.input == input {
			return old, nil // the same request again: the same execution
		}
		if running || now.Sub(old.x.StopTime()) < nameReuse {
			return nil, awsproto.Errorf("ExecutionAlreadyExists", "Execution Already Exists: '%s'", arn)
		}
		s.forgetLocked(old)
	}
	e := &execution{arn: arn, name: name, sm: *sm, input: input, start: now}
	info := states.ExecutionInfo{ID: arn, Name: name, StateMachineID: sm.arn, StateMachineName: sm.name, RoleArn: sm.roleArn, StartTime: now}
	// The execution outlives the request that started it.
	e.x = s.engine.Start(context.Background(), sm.machine, info, json.RawMessage(input))
	s.executions[arn] = e
	s.byMachine[sm.arn] = append(s.byMachine[sm.arn], e)
	return e, nil
}

func (s *Service) forgetLocked(e *execution) {
	delete(s.executions, e.arn)
	list := s.byMachine[e.sm.arn]
	for i, o := range list {
		if o == e {
			s.byMachine[e.sm.arn] = append(list[:i:i], list[i+1:]...)
			break
		}
	}
}

func (s *Service) executionByArn(arn string) (*execution, error) {
	if !strings.HasPrefix(arn, "arn:aws:states:") || !strings.Contains(arn, ":execution:") {
		return nil, awsproto.Errorf("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.executions[arn]
	if !ok {
		return nil, awsproto.Errorf("ExecutionDoesNotExist", "Execution Does Not Exist: '%s'", arn)
	}
	return e, nil
}

func (s *Service) describeExecution(ctx context.Context, in *arnInput) (any, error) {
	awsproto.Note(ctx, "execution", lastPart(in.ExecutionArn))
	e, err := s.executionByArn(in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	status := e.x.Status()
	out := map[string]any{
		"executionArn": e.arn, "stateMachineArn": e.sm.arn, "name": e.name, "status": string(status),
		"startDate": epoch(e.start), "input": e.input, "inputDetails": map[string]bool{"included": true},
		"redriveCount": 0, "redriveStatus": "NOT_REDRIVABLE",
	}
	if status != states.StatusRunning {
		res, _ := e.x.Wait(ctx) // terminal: returns at once
		out["stopDate"] = epoch(e.x.StopTime())
		if status == states.StatusSucceeded {
			out["output"] = string(res.Output)
			out["outputDetails"] = map[string]bool{"included": true}
		}
		if res.Error != "" {
			out["error"] = res.Error
		}
		if res.Cause != "" {
			out["cause"] = res.Cause
		}
	}
	return out, nil
}

func (s *Service) describeStateMachineForExecution(ctx context.Context, in *arnInput) (any, error) {
	awsproto.Note(ctx, "execution", lastPart(in.ExecutionArn))
	e, err := s.executionByArn(in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	out := describeMachine(&e.sm)
	delete(out, "status")
	delete(out, "type")
	delete(out, "creationDate")
	out["updateDate"] = epoch(e.sm.updated)
	return out, nil
}

type listExecutionsInput struct {
	pageInput
	StateMachineArn string
	StatusFilter    string
}

func (s *Service) listExecutions(ctx context.Context, in *listExecutionsInput) (any, error) {
	awsproto.Note(ctx, "stateMachine", lastPart(in.StateMachineArn))
	switch in.StatusFilter {
	case "", "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE":
	default:
		return nil, awsproto.Validation("1 validation error detected: Value '%s' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]", in.StatusFilter)
	}
	s.mu.Lock()
	if _, err := s.machineLocked(in.StateMachineArn); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	list := append([]*execution(nil), s.byMachine[in.StateMachineArn]...)
	s.mu.Unlock()
	// Newest first, as on AWS.
	var match []*execution
	for i := len(list) - 1; i >= 0; i-- {
		if in.StatusFilter == "" || string(list[i].x.Status()) == in.StatusFilter {
			match = append(match, list[i])
		}
	}
	start, end, next, err := page(in.pageInput, len(match), 100)
	if err != nil {
		return nil, err
	}
	items := []map[string]any{}
	for _, e := range match[start:end] {
		item := map[string]any{"executionArn": e.arn, "stateMachineArn": e.sm.arn, "name": e.name,
			"status": string(e.x.Status()), "startDate": epoch(e.start)}
		if t := e.x.StopTime(); !t.IsZero() {
			item["stopDate"] = epoch(t)
		}
		items = append(items, item)
	}
	out := map[string]any{"executions": items}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

type historyInput struct {
	pageInput
	ExecutionArn         string
	ReverseOrder         bool
	IncludeExecutionData *bool
}

func (s *Service) getExecutionHistory(ctx context.Context, in *historyInput) (any, error) {
	awsproto.Note(ctx, "execution", lastPart(in.ExecutionArn))
	e, err := s.executionByArn(in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	events := e.x.History()
	if in.ReverseOrder {
		for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
			events[i], events[j] = events[j], events[i]
		}
	}
	start, end, next, err := page(in.pageInput, len(events), 100)
	if err != nil {
		return nil, err
	}
	items := make([]json.RawMessage, 0, end-start)
	for _, ev := range events[start:end] {
		b, err := json.Marshal(ev)
		if err != nil {
			return nil, fmt.Errorf("encode history event: %w", err)
		}
		if in.IncludeExecutionData != nil && !*in.IncludeExecutionData {
			b = stripData(b)
		}
		items = append(items, b)
	}
	out := map[string]any{"events": items}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

// stripData drops inputs and outputs from an event's details, as AWS does
// for includeExecutionData=false.
func stripData(b []byte) []byte {
	var ev map[string]any
	if json.Unmarshal(b, &ev) != nil {
		return b
	}
	for k, v := range ev {
		if d, ok := v.(map[string]any); ok && strings.HasSuffix(k, "EventDetails") {
			for _, f := range []string{"input", "output", "parameters", "inputDetails", "outputDetails"} {
				delete(d, f)
			}
		}
	}
	out, err := json.Marshal(ev)
	if err != nil {
		return b
	}
	return out
}

type stopInput struct {
	ExecutionArn string
	Error        string
	Cause        string
}

func (s *Service) stopExecution(ctx context.Context, in *stopInput) (any, error) {
	awsproto.Note(ctx, "execution", lastPart(in.ExecutionArn))
	e, err := s.executionByArn(in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	e.x.Stop(in.Error, in.Cause)
	return map[string]any{"stopDate": epoch(e.x.StopTime())}, nil
}

type taskInput struct {
	TaskToken string
	Output    *string
	Error     string
	Cause     string
}

func tokenError(err error) error {
	var te *states.TaskTokenError
	if errors.As(err, &te) {
		return awsproto.Errorf(te.Reason, "%s", te.Error())
	}
	return err
}

func (s *Service) sendTaskSuccess(ctx context.Context, in *taskInput) (any, error) {
	if in.Output == nil || !json.Valid([]byte(*in.Output)) {
		return nil, awsproto.Errorf("InvalidOutput", "Invalid Output: 'output is not valid JSON'")
	}
	if err := s.engine.SendTaskSuccess(in.TaskToken, json.RawMessage(*in.Output)); err != nil {
		return nil, tokenError(err)
	}
	return struct{}{}, nil
}

func (s *Service) sendTaskFailure(ctx context.Context, in *taskInput) (any, error) {
	if err := s.engine.SendTaskFailure(in.TaskToken, in.Error, in.Cause); err != nil {
		return nil, tokenError(err)
	}
	return struct{}{}, nil
}

func (s *Service) sendTaskHeartbeat(ctx context.Context, in *taskInput) (any, error) {
	if err := s.engine.SendTaskHeartbeat(in.TaskToken); err != nil {
		return nil, tokenError(err)
	}
	return struct{}{}, nil
}

type tagInput struct {
	ResourceArn string
	Tags        []tag
	TagKeys     []string
}

func (s *Service) taggedLocked(arn string) (*stateMachine, error) {
	sm, ok := s.machines[arn]
	if !ok {
		return nil, awsproto.Errorf("ResourceNotFound", "Resource not found: '%s'", arn)
	}
	return sm, nil
}

func (s *Service) tagResource(ctx context.Context, in *tagInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sm, err := s.taggedLocked(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	for _, t := range in.Tags {
		sm.tags[t.Key] = t.Value
	}
	return struct{}{}, nil
}

func (s *Service) untagResource(ctx context.Context, in *tagInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sm, err := s.taggedLocked(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	for _, k := range in.TagKeys {
		delete(sm.tags, k)
	}
	return struct{}{}, nil
}

func (s *Service) listTagsForResource(ctx context.Context, in *tagInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sm, err := s.taggedLocked(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	tags := []tag{}
	for k, v := range sm.tags {
		tags = append(tags, tag{Key: k, Value: v})
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
	return map[string]any{"tags": tags}, nil
}

func lastPart(arn string) string {
	return arn[strings.LastIndex(arn, ":")+1:]
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Wait blocks until the execution is over and returns its result. Do not
// hold the clock busy while waiting.
func (s *Service) Wait(ctx context.Context, executionARN string) (states.Result, error) {
	e, err := s.executionByArn(executionARN)
	if err != nil {
		return states.Result{}, err
	}
	return e.x.Wait(ctx)
}

type validateInput struct {
	Definition string
}

// validateDefinition reports the engine parser's problems as diagnostics.
func (s *Service) validateDefinition(ctx context.Context, in *validateInput) (any, error) {
	diags := []map[string]string{}
	if _, err := states.Parse([]byte(in.Definition)); err != nil {
		problems := []string{err.Error()}
		var de *states.DefinitionError
		if errors.As(err, &de) {
			problems = de.Problems
		}
		for _, p := range problems {
			diags = append(diags, map[string]string{"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": p})
		}
	}
	result := "OK"
	if len(diags) > 0 {
		result = "FAIL"
	}
	return map[string]any{"result": result, "diagnostics": diags, "truncated": false}, nil
}
