package samlocal

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

// Function is what the template says about one Lambda function, with
// Globals merged and intrinsics resolved.
type Function struct {
	LogicalID string
	Name      string
	ARN       string
	CodeURI   string // directory, relative to the template
	Handler   string
	Runtime   string
	Env       map[string]string
	Timeout   int // seconds
	Memory    int // MB
}

// FunctionInstaller creates a function in the local cloud: from its built
// binary, or as its handler run in-process.
type FunctionInstaller interface {
	InstallFunction(ctx context.Context, fn Function) error
}

// Options says how to install.
type Options struct {
	StackName  string
	Region     string
	Account    string
	Parameters map[string]string // overrides of the template's defaults
	Dir        string            // the template's directory; DefinitionUri and CodeUri are relative to it
	Functions  FunctionInstaller
}

// Installed is what Install created, by logical id.
type Installed struct {
	Functions     map[string]Function
	StateMachines map[string]string // logical id -> ARN
	Tables        map[string]string // logical id -> table name
	Rules         []string          // rule names
	Skipped       []string          // "LogicalId (Type)" not served locally: IAM, logs, topics...
}

// StateMachine returns the ARN of the only state machine, or an error.
func (in *Installed) StateMachine() (string, error) {
	if len(in.StateMachines) != 1 {
		return "", fmt.Errorf("template has %d state machines, want 1", len(in.StateMachines))
	}
	for _, arn := range in.StateMachines {
		return arn, nil
	}
	return "", nil
}

type installer struct {
	t    *Template
	opts Options
	cfg  aws.Config
	res  *Resolver
	out  *Installed
}

// Install creates the template's resources in the local cloud that cfg
// points at.
func Install(ctx context.Context, cfg aws.Config, t *Template, opts Options) (*Installed, error) {
	if opts.StackName == "" {
		opts.StackName = "pushdeploy"
	}
	if opts.Region == "" {
		opts.Region = cfg.Region
	}
	if opts.Functions == nil {
		return nil, fmt.Errorf("install: no function installer")
	}
	in := &installer{t: t, opts: opts, cfg: cfg, out: &Installed{
		Functions: map[string]Function{}, StateMachines: map[string]string{}, Tables: map[string]string{},
	}}
	if err := in.prepare(); err != nil {
		return nil, err
	}
	steps := []struct {
		types []string
		make  func(context.Context, string, map[string]any) error
	}{
		{[]string{"AWS::DynamoDB::Table"}, in.table},
		{[]string{"AWS::Serverless::Function"}, in.function},
		{[]string{"AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"}, in.stateMachine},
		{[]string{"AWS::Events::Rule"}, in.rule},
	}
	handled := map[string]bool{}
	for _, step := range steps {
		for _, typ := range step.types {
			handled[typ] = true
			for _, id := range t.ResourcesOfType(typ) {
				ok, err := in.enabled(id)
				if err != nil {
					return nil, err
				}
				if !ok {
					continue
				}
				props, err := in.properties(id)
				if err != nil {
					return nil, err
				}
				if err := step.make(ctx, id, props); err != nil {
					return nil, fmt.Errorf("install %s: %w", id, err)
				}
			}
		}
	}
	for _, id := range sortedKeys(t.Resources) {
		if typ := t.Resources[id].Type; !handled[typ] {
			in.out.Skipped = append(in.out.Skipped, id+" ("+typ+")")
		}
	}
	return in.out, nil
}

// prepare fixes every resource's physical name and ARN up front, as
// CloudFormation's dependency order would, so any reference resolves.
func (in *installer) prepare() error {
	o := in.opts
	params := map[string]string{
		"AWS::Region": o.Region, "AWS::AccountId": o.Account, "AWS::StackName": o.StackName,
		"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
		"AWS::StackId": fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/local", o.Region, o.Account, o.StackName),
	}
	for name, p := range in.t.Parameters {
		if v, ok := o.Parameters[name]; ok {
			params[name] = v
		} else if p.Default != nil {
			params[name] = fmt.Sprint(p.Default)
		} else {
			return fmt.Errorf("install: parameter %s has no default and no value", name)
		}
	}
	for name := range o.Parameters {
		if _, ok := in.t.Parameters[name]; !ok {
			return fmt.Errorf("install: unknown parameter %s", name)
		}
	}
	in.res = &Resolver{Params: params, Refs: map[string]string{}, Attrs: map[string]map[string]string{}, Conditions: in.t.Conditions}
	arn := func(service, rest string) string {
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, o.Region, o.Account, rest)
	}
	for id, r := range in.t.Resources {
		name := o.StackName + "-" + id
		props := r.Properties
		switch r.Type {
		case "AWS::Serverless::Function":
			name = in.nameProp(props, "FunctionName", name)
			a := arn("lambda", "function:"+name)
			in.res.Refs[id] = name
			in.res.Attrs[id] = map[string]string{"Arn": a}
			in.res.Attrs[id+"Role"] = map[string]string{"Arn": fmt.Sprintf("arn:aws:iam::%s:role/%s-%sRole", o.Account, o.StackName, id)}
		case "AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine":
			name = in.nameProp(props, "Name", in.nameProp(props, "StateMachineName", name))
			a := arn("states", "stateMachine:"+name)
			in.res.Refs[id] = a
			in.res.Attrs[id] = map[string]string{"Arn": a, "Name": name}
		case "AWS::DynamoDB::Table":
			name = in.nameProp(props, "TableName", name)
			in.res.Refs[id] = name
			in.res.Attrs[id] = map[string]string{"Arn": arn("dynamodb", "table/"+name), "StreamArn": arn("dynamodb", "table/"+name+"/stream/local")}
		case "AWS::Events::Rule":
			name = in.nameProp(props, "Name", name)
			in.res.Refs[id] = name
			in.res.Attrs[id] = map[string]string{"Arn": arn("events", "rule/"+name)}
		case "AWS::Events::EventBus":
			name = in.nameProp(props, "Name", name)
			in.res.Refs[id] = name
			in.res.Attrs[id] = map[string]string{"Arn": arn("events", "event-bus/"+name), "Name": name}
		case "AWS::SNS::Topic":
			name = in.nameProp(props, "TopicName", name)
			in.res.Refs[id] = arn("sns", name)
			in.res.Attrs[id] = map[string]string{"TopicName": name, "TopicArn": arn("sns", name)}
		case "AWS::Logs::LogGroup":
			name = in.nameProp(props, "LogGroupName", name)
			in.res.Refs[id] = name
			in.res.Attrs[id] = map[string]string{"Arn": arn("logs", "log-group:"+name+":*")}
		case "AWS::IAM::Role":
			in.res.Refs[id] = name
			in.res.Attrs[id] = map[string]string{"Arn": fmt.Sprintf("arn:aws:iam::%s:role/%s", o.Account, name)}
		default:
			in.res.Refs[id] = name
		}
	}
	return nil
}

// nameProp reads an explicit physical name, when the property is a plain
// string or resolves from parameters alone.
func (in *installer) nameProp(props map[string]any, key, fallback string) string {
	v, ok := props[key]
	if !ok {
		return fallback
	}
	if s, err := in.res.ResolveString(v); err == nil && s != "" {
		return s
	}
	return fallback
}

func (in *installer) enabled(id string) (bool, error) {
	cond := in.t.Resources[id].Condition
	if cond == "" {
		return true, nil
	}
	return in.res.Condition(cond)
}

func (in *installer) properties(id string) (map[string]any, error) {
	r := in.t.Resources[id]
	props := r.Properties
	if section := globalsSection(r.Type); section != "" {
		props = mergeGlobals(in.t.Globals[section], props)
	}
	resolved, err := in.res.Resolve(props)
	if err != nil {
		return nil, fmt.Errorf("install %s: %w", id, err)
	}
	m, _ := resolved.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

func globalsSection(typ string) string {
	switch typ {
	case "AWS::Serverless::Function":
		return "Function"
	case "AWS::Serverless::StateMachine":
		return "StateMachine"
	case "AWS::Serverless::SimpleTable":
		return "SimpleTable"
	}
	return ""
}

// mergeGlobals applies SAM's rule: maps merge (the resource wins), anything
// else in the resource replaces the global.
func mergeGlobals(globals, props map[string]any) map[string]any {
	out := make(map[string]any, len(globals)+len(props))
	for k, v := range globals {
		out[k] = v
	}
	for k, v := range props {
		if gm, ok := out[k].(map[string]any); ok {
			if pm, ok := v.(map[string]any); ok {
				out[k] = mergeGlobals(gm, pm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

func (in *installer) table(ctx context.Context, id string, p map[string]any) error {
	name := in.res.Refs[id]
	input := &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: ddbtypes.BillingModePayPerRequest}
	if err := remarshal(p["KeySchema"], &input.KeySchema); err != nil {
		return fmt.Errorf("KeySchema: %w", err)
	}
	if err := remarshal(p["AttributeDefinitions"], &input.AttributeDefinitions); err != nil {
		return fmt.Errorf("AttributeDefinitions: %w", err)
	}
	if gsis, ok := p["GlobalSecondaryIndexes"]; ok {
		if err := remarshal(gsis, &input.GlobalSecondaryIndexes); err != nil {
			return fmt.Errorf("GlobalSecondaryIndexes: %w", err)
		}
	}
	client := dynamodb.NewFromConfig(in.cfg)
	if _, err := client.CreateTable(ctx, input); err != nil {
		return err
	}
	if ttl := asMap(p["TimeToLiveSpecification"]); ttl != nil && fmt.Sprint(ttl["Enabled"]) == "true" {
		_, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName: aws.String(name),
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{
				AttributeName: aws.String(asString(ttl["AttributeName"])), Enabled: aws.Bool(true),
			},
		})
		if err != nil {
			return fmt.Errorf("time to live: %w", err)
		}
	}
	in.out.Tables[id] = name
	return nil
}

func (in *installer) function(ctx context.Context, id string, p map[string]any) error {
	fn := Function{
		LogicalID: id, Name: in.res.Refs[id], ARN: in.res.Attrs[id]["Arn"],
		CodeURI: asString(p["CodeUri"]), Handler: asString(p["Handler"]), Runtime: asString(p["Runtime"]),
		Env: map[string]string{}, Timeout: atoi(p["Timeout"], 3), Memory: atoi(p["MemorySize"], 128),
	}
	if fn.CodeURI == "" {
		return fmt.Errorf("no CodeUri")
	}
	for k, v := range asMap(asMap(p["Environment"])["Variables"]) {
		fn.Env[k] = fmt.Sprint(v)
	}
	if err := in.opts.Functions.InstallFunction(ctx, fn); err != nil {
		return err
	}
	in.out.Functions[id] = fn
	return in.samEvents(ctx, id, fn.ARN, p)
}

func (in *installer) stateMachine(ctx context.Context, id string, p map[string]any) error {
	var def []byte
	switch {
	case p["DefinitionUri"] != nil:
		path := asString(p["DefinitionUri"])
		if path == "" {
			return fmt.Errorf("DefinitionUri must be a local file")
		}
		data, err := os.ReadFile(filepath.Join(in.opts.Dir, path))
		if err != nil {
			return err
		}
		def = data
	case p["Definition"] != nil:
		data, err := json.Marshal(p["Definition"])
		if err != nil {
			return err
		}
		def = data
	case p["DefinitionString"] != nil:
		def = []byte(asString(p["DefinitionString"]))
	default:
		return fmt.Errorf("no definition")
	}
	subs := map[string]string{}
	for k, v := range asMap(p["DefinitionSubstitutions"]) {
		subs[k] = fmt.Sprint(v)
	}
	text, err := Substitute(string(def), subs)
	if err != nil {
		return err
	}
	arn := in.res.Refs[id]
	_, err = sfn.NewFromConfig(in.cfg).CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String(in.res.Attrs[id]["Name"]),
		Definition: aws.String(text),
		RoleArn:    aws.String(fmt.Sprintf("arn:aws:iam::%s:role/%s-%sRole", in.opts.Account, in.opts.StackName, id)),
	})
	if err != nil {
		return err
	}
	in.out.StateMachines[id] = arn
	return in.samEvents(ctx, id, arn, p)
}

// Substitute fills SAM DefinitionSubstitutions (${Name}) into a definition;
// a placeholder with no value is an error, as it is for SAM.
func Substitute(def string, subs map[string]string) (string, error) {
	var missing []string
	out := subVar.ReplaceAllStringFunc(def, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := subs[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("definition substitutions missing: %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// samEvents creates the rules of a SAM resource's EventBridgeRule and
// CloudWatchEvent events, targeting the resource.
func (in *installer) samEvents(ctx context.Context, id, targetARN string, p map[string]any) error {
	events := asMap(p["Events"])
	for _, name := range sortedKeys(events) {
		ev := asMap(events[name])
		typ := asString(ev["Type"])
		if typ != "EventBridgeRule" && typ != "CloudWatchEvent" {
			in.out.Skipped = append(in.out.Skipped, id+"."+name+" ("+typ+")")
			continue
		}
		props := asMap(ev["Properties"])
		rule := in.opts.StackName + "-" + id + name
		if n := asString(props["RuleName"]); n != "" {
			rule = n
		}
		target := ebtypes.Target{Id: aws.String(id + name), Arn: aws.String(targetARN)}
		if t := asMap(props["Target"]); t != nil && asString(t["Id"]) != "" {
			target.Id = aws.String(asString(t["Id"]))
		}
		if s := asString(props["Input"]); s != "" {
			target.Input = aws.String(s)
		}
		if s := asString(props["InputPath"]); s != "" {
			target.InputPath = aws.String(s)
		}
		if err := in.putRule(ctx, rule, asString(props["EventBusName"]), props["Pattern"], asString(props["State"]), []ebtypes.Target{target}); err != nil {
			return fmt.Errorf("event %s: %w", name, err)
		}
	}
	return nil
}

func (in *installer) rule(ctx context.Context, id string, p map[string]any) error {
	var targets []ebtypes.Target
	for _, raw := range asSlice(p["Targets"]) {
		t := asMap(raw)
		target := ebtypes.Target{Id: aws.String(asString(t["Id"])), Arn: aws.String(asString(t["Arn"]))}
		if s := asString(t["Input"]); s != "" {
			target.Input = aws.String(s)
		}
		if s := asString(t["InputPath"]); s != "" {
			target.InputPath = aws.String(s)
		}
		if tr := asMap(t["InputTransformer"]); tr != nil {
			target.InputTransformer = &ebtypes.InputTransformer{InputTemplate: aws.String(asString(tr["InputTemplate"]))}
			if paths := asMap(tr["InputPathsMap"]); paths != nil {
				target.InputTransformer.InputPathsMap = map[string]string{}
				for k, v := range paths {
					target.InputTransformer.InputPathsMap[k] = fmt.Sprint(v)
				}
			}
		}
		targets = append(targets, target)
	}
	return in.putRule(ctx, in.res.Refs[id], asString(p["EventBusName"]), p["EventPattern"], asString(p["State"]), targets)
}

func (in *installer) putRule(ctx context.Context, name, bus string, pattern any, state string, targets []ebtypes.Target) error {
	if pattern == nil {
		return fmt.Errorf("rule %s has no event pattern (scheduled rules are not served locally)", name)
	}
	patternJSON, err := json.Marshal(pattern)
	if err != nil {
		return err
	}
	input := &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(string(patternJSON))}
	if bus != "" {
		input.EventBusName = aws.String(bus)
	}
	if state == "DISABLED" {
		input.State = ebtypes.RuleStateDisabled
	}
	client := eventbridge.NewFromConfig(in.cfg)
	if _, err := client.PutRule(ctx, input); err != nil {
		return err
	}
	tin := &eventbridge.PutTargetsInput{Rule: aws.String(name), Targets: targets}
	if bus != "" {
		tin.EventBusName = aws.String(bus)
	}
	out, err := client.PutTargets(ctx, tin)
	if err != nil {
		return err
	}
	if out.FailedEntryCount > 0 {
		return fmt.Errorf("rule %s: %d targets failed", name, out.FailedEntryCount)
	}
	in.out.Rules = append(in.out.Rules, name)
	return nil
}

// remarshal converts template values into SDK input types; the SDK types
// have no JSON tags, and Go's JSON decoding of field names ignores case.
func remarshal(v any, into any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, into)
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func atoi(v any, def int) int {
	switch x := v.(type) {
	case int:
		return x
	case float64:
		return int(x)
	case string:
		if n, err := strconv.Atoi(x); err == nil {
			return n
		}
	}
	return def
}
