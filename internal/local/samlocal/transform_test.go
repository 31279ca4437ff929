package samlocal

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The transform tests run what `sam deploy` hands CloudFormation: SAM's own
// translator (aws-sam-translator, offline, via tools/sam/transform.py) turns
// template.yaml into plain CloudFormation, then cfn-lint, the IAM action table
// check (tools/sam/iamcheck.py) and the checks below read that output. They
// skip when python3, aws-sam-translator or cfn-lint is not installed.

const repoRoot = "../../.."

// transformed runs tools/sam/transform.py on template and returns the output
// file and its parsed resources, or skips when the tools are missing.
func transformed(t *testing.T, template string) (string, map[string]any) {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: SAM transform not checked")
	}
	if out, err := exec.Command(python, "-c", "import samtranslator, yaml").CombinedOutput(); err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		t.Skipf("aws-sam-translator not importable: SAM transform not checked (%s)", lines[len(lines)-1])
	}
	path := filepath.Join(t.TempDir(), "transformed.json")
	cmd := exec.Command(python, filepath.Join(repoRoot, "tools/sam/transform.py"), template, path)
	if out, err := cmd.CombinedOutput(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 3 {
			t.Skipf("transform.py: %s", out)
		}
		t.Fatalf("SAM transform of %s failed: %v\n%s", template, err, out)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Resources map[string]any }
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("transform output: %v", err)
	}
	return path, doc.Resources
}

// writeJSON writes a (mutated) transformed template for the command-line checks.
func writeJSON(t *testing.T, resources map[string]any) string {
	t.Helper()
	data, err := json.Marshal(map[string]any{"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mutated.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// cfnLint runs cfn-lint on path; it returns the error findings (exit code
// bits 1 and 2) and logs warnings.
func cfnLint(t *testing.T, path string) string {
	t.Helper()
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint not installed: transformed template not linted")
	}
	out, err := exec.Command(lint, path).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &exit) && exit.ExitCode()&3 == 0:
		t.Logf("cfn-lint warnings:\n%s", out)
		return ""
	default:
		return fmt.Sprintf("%v\n%s", err, out)
	}
}

// iamCheck runs tools/sam/iamcheck.py on path and returns its problems.
func iamCheck(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("python3", filepath.Join(repoRoot, "tools/sam/iamcheck.py"), path).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &exit) && exit.ExitCode() == 3:
		t.Skipf("iamcheck.py: %s", out)
	}
	return fmt.Sprintf("%v\n%s", err, out)
}

func TestTransformedTemplate(t *testing.T) {
	tplPath := filepath.Join(repoRoot, "template.yaml")
	out, res := transformed(t, tplPath)
	src, err := Load(tplPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("CfnLint", func(t *testing.T) {
		if msg := cfnLint(t, out); msg != "" {
			t.Errorf("cfn-lint on the transformed template:\n%s", msg)
		}
	})
	t.Run("IAMActions", func(t *testing.T) {
		if msg := iamCheck(t, out); msg != "" {
			t.Errorf("IAM policies against the IAM action table:\n%s", msg)
		}
	})
	t.Run("Checks", func(t *testing.T) {
		for _, p := range checkTransformed(res, definitions(t, src)) {
			t.Error(p)
		}
	})
}

// TestTransformChecksCatch breaks the real transformed template in the ways
// the checks are for and expects each to be reported.
func TestTransformChecksCatch(t *testing.T) {
	tplPath := filepath.Join(repoRoot, "template.yaml")
	_, res := transformed(t, tplPath)
	src, err := Load(tplPath)
	if err != nil {
		t.Fatal(err)
	}
	defs := definitions(t, src)
	sm := firstOfType(res, "AWS::StepFunctions::StateMachine")
	smRole := getAttName(props(res[sm])["RoleArn"])
	tests := []struct {
		name   string
		break_ func(res map[string]any)
		want   string
	}{
		{"wildcard invoke", func(res map[string]any) {
			st := statements(res[smRole])[0]
			st["Resource"] = map[string]any{"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:*"}
		}, "not exactly a function's Arn"},
		{"missing invoke", func(res map[string]any) {
			st := statements(res[smRole])[0]
			st["Resource"] = listOf(st["Resource"])[1:]
		}, "cannot invoke"},
		{"missing substitution", func(res map[string]any) {
			subs := props(res[sm])["DefinitionSubstitutions"].(map[string]any)
			for k := range subs {
				delete(subs, k)
				break
			}
		}, "no DefinitionSubstitution"},
		{"missing log delivery", func(res map[string]any) {
			for _, st := range statements(res[smRole]) {
				if slices.Contains(listOf(st["Action"]), any("logs:CreateLogDelivery")) {
					st["Action"] = []any{"logs:GetLogDelivery"}
				}
			}
		}, "logs:CreateLogDelivery"},
		{"missing rule permission", func(res map[string]any) {
			delete(res, firstOfType(res, "AWS::Lambda::Permission"))
		}, "no AWS::Lambda::Permission"},
		{"untagged UpdateService", func(res map[string]any) {
			for _, id := range sortedKeys(res) {
				for _, st := range statements(res[id]) {
					if slices.Contains(listOf(st["Action"]), any("ecs:UpdateService")) {
						delete(st, "Condition")
					}
				}
			}
		}, "pushdeploy:repository"},
		{"PassRole to anyone", func(res map[string]any) {
			for _, id := range sortedKeys(res) {
				for _, st := range statements(res[id]) {
					if slices.Contains(listOf(st["Action"]), any("iam:PassRole")) {
						delete(st, "Condition")
					}
				}
			}
		}, "iam:PassedToService"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			broken := deepCopy(t, res)
			tt.break_(broken)
			problems := checkTransformed(broken, defs)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want one mentioning %q", problems, tt.want)
			}
		})
	}
	t.Run("iamcheck SendTaskSuccess on an ARN", func(t *testing.T) {
		broken := deepCopy(t, res)
		for _, id := range sortedKeys(broken) {
			for _, st := range statements(broken[id]) {
				if slices.Contains(listOf(st["Action"]), any("states:SendTaskSuccess")) {
					st["Resource"] = "arn:aws:states:us-east-1:123456789012:stateMachine:x"
				}
			}
		}
		if msg := iamCheck(t, writeJSON(t, broken)); !strings.Contains(msg, "no resource-level permissions") {
			t.Errorf("iamcheck.py output %q, want the SendTaskSuccess resource reported", msg)
		}
	})
}

// definitions reads each state machine's DefinitionUri file from the source
// template (the transformed one only has its placeholder S3 location).
func definitions(t *testing.T, src *Template) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, id := range src.ResourcesOfType("AWS::Serverless::StateMachine") {
		uri, _ := src.Resources[id].Properties["DefinitionUri"].(string)
		if uri == "" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(repoRoot, uri))
		if err != nil {
			t.Fatal(err)
		}
		out[id] = data
	}
	return out
}

// stepFunctionsLogging is what a state machine role needs to deliver logs to
// CloudWatch Logs (the Step Functions developer guide's logging policy).
var stepFunctionsLogging = []string{
	"logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
	"logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
}

const xrayWriteOnly = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"

var substitution = regexp.MustCompile(`\$\{([^}]+)\}`)

// checkTransformed returns every problem found in a transformed template:
// state machine roles, substitutions, logging and tracing, the Lambda
// permissions of EventBridge rules, and the guards on ECS and IAM mutations.
func checkTransformed(res map[string]any, defs map[string][]byte) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	for _, sm := range sortedKeys(res) {
		if typeOf(res[sm]) != "AWS::StepFunctions::StateMachine" {
			continue
		}
		p := props(res[sm])
		role := getAttName(p["RoleArn"])
		if typeOf(res[role]) != "AWS::IAM::Role" {
			add("%s: RoleArn is not a role of the template", sm)
			continue
		}
		// The functions the definition calls, through its substitutions.
		subs, _ := p["DefinitionSubstitutions"].(map[string]any)
		want := map[string]bool{}
		used := map[string]bool{}
		for _, m := range substitution.FindAllSubmatch(defs[sm], -1) {
			name := string(m[1])
			used[name] = true
			v, ok := subs[name]
			if !ok {
				add("%s: ${%s} in the definition has no DefinitionSubstitution", sm, name)
				continue
			}
			if fn := getAttName(v); typeOf(res[fn]) == "AWS::Lambda::Function" {
				want[fn] = true
			}
		}
		for _, name := range sortedKeys(subs) {
			if !used[name] {
				add("%s: DefinitionSubstitution %s is not used by the definition", sm, name)
			}
		}
		// Exactly those functions, named by their Arn, and nothing else.
		got := map[string]bool{}
		actions := map[string]bool{}
		for _, st := range statements(res[role]) {
			for _, a := range listOf(st["Action"]) {
				a := fmt.Sprint(a)
				actions[a] = true
				switch {
				case a == "lambda:InvokeFunction":
					for _, r := range listOf(st["Resource"]) {
						fn := getAttName(r)
						if typeOf(res[fn]) != "AWS::Lambda::Function" {
							add("%s: lambda:InvokeFunction on %s, not exactly a function's Arn", role, compact(r))
							continue
						}
						got[fn] = true
					}
				case slices.Contains(stepFunctionsLogging, a):
				default:
					add("%s: unexpected action %s for the state machine", role, a)
				}
			}
		}
		for _, fn := range sortedKeys(want) {
			if !got[fn] {
				add("%s: cannot invoke %s, which the definition calls", role, fn)
			}
		}
		for _, fn := range sortedKeys(got) {
			if !want[fn] {
				add("%s: may invoke %s, which the definition never calls", role, fn)
			}
		}
		if lc, ok := p["LoggingConfiguration"].(map[string]any); ok {
			for _, d := range listOf(lc["Destinations"]) {
				cw, _ := field(d, "CloudWatchLogsLogGroup").(map[string]any)
				if lg := getAttName(cw["LogGroupArn"]); typeOf(res[lg]) != "AWS::Logs::LogGroup" {
					add("%s: logging destination %s is not a log group of the template", sm, compact(cw["LogGroupArn"]))
				}
			}
			for _, a := range stepFunctionsLogging {
				if !actions[a] {
					add("%s: logging is on but the role lacks %s", role, a)
				}
			}
		}
		if tc, _ := p["TracingConfiguration"].(map[string]any); tc["Enabled"] == true && !hasManaged(res[role], xrayWriteOnly) {
			add("%s: tracing is on but the role lacks AWSXrayWriteOnlyAccess", role)
		}
	}

	for _, id := range sortedKeys(res) {
		switch typeOf(res[id]) {
		case "AWS::Lambda::Function":
			p := props(res[id])
			if tc, _ := p["TracingConfig"].(map[string]any); tc["Mode"] == "Active" && !hasManaged(res[getAttName(p["Role"])], xrayWriteOnly) {
				add("%s: active tracing but its role lacks AWSXrayWriteOnlyAccess", id)
			}
		case "AWS::Events::Rule":
			for _, tg := range listOf(props(res[id])["Targets"]) {
				fn := getAttName(field(tg, "Arn"))
				if typeOf(res[fn]) == "AWS::Lambda::Function" && !hasPermission(res, fn, id) {
					add("%s: targets %s but no AWS::Lambda::Permission lets events.amazonaws.com invoke it from this rule", id, fn)
				}
			}
		case "AWS::IAM::Role":
			for _, st := range statements(res[id]) {
				acts := listOf(st["Action"])
				cond, _ := st["Condition"].(map[string]any)
				if slices.Contains(acts, any("ecs:UpdateService")) && !requiresTag(cond, "aws:ResourceTag/pushdeploy:repository") {
					add("%s: ecs:UpdateService is not limited to services tagged pushdeploy:repository", id)
				}
				if slices.Contains(acts, any("iam:PassRole")) {
					eq, _ := cond["StringEquals"].(map[string]any)
					if eq["iam:PassedToService"] != "ecs-tasks.amazonaws.com" {
						add("%s: iam:PassRole is not limited by iam:PassedToService ecs-tasks.amazonaws.com", id)
					}
				}
			}
		}
	}
	return problems
}

// hasPermission reports whether an AWS::Lambda::Permission lets EventBridge
// invoke fn from rule.
func hasPermission(res map[string]any, fn, rule string) bool {
	for _, id := range sortedKeys(res) {
		if typeOf(res[id]) != "AWS::Lambda::Permission" {
			continue
		}
		p := props(res[id])
		name := getAttName(p["FunctionName"])
		if ref, ok := field(p["FunctionName"], "Ref").(string); ok {
			name = ref
		}
		if name == fn && p["Action"] == "lambda:InvokeFunction" && p["Principal"] == "events.amazonaws.com" &&
			getAttName(p["SourceArn"]) == rule {
			return true
		}
	}
	return false
}

// requiresTag reports whether a condition block requires the tag key to be
// present (Null false) or to have some value (String*/ArnLike).
func requiresTag(cond map[string]any, key string) bool {
	for op, kv := range cond {
		m, _ := kv.(map[string]any)
		v, ok := m[key]
		if !ok {
			continue
		}
		if op == "Null" && fmt.Sprint(v) == "false" || strings.HasPrefix(op, "String") && !strings.HasPrefix(op, "StringNot") {
			return true
		}
	}
	return false
}

func hasManaged(role any, arn string) bool {
	for _, a := range listOf(props(role)["ManagedPolicyArns"]) {
		if s, _ := a.(string); s == arn {
			return true
		}
		if sub, ok := field(a, "Fn::Sub").(string); ok && strings.Replace(sub, "${AWS::Partition}", "aws", 1) == arn {
			return true
		}
	}
	return false
}

// statements returns the inline policy statements of a role, as maps that
// can be changed in place.
func statements(role any) []map[string]any {
	var out []map[string]any
	for _, p := range listOf(props(role)["Policies"]) {
		doc, _ := field(p, "PolicyDocument").(map[string]any)
		for _, st := range listOf(doc["Statement"]) {
			if m, ok := st.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

func props(r any) map[string]any {
	m, _ := r.(map[string]any)
	p, _ := m["Properties"].(map[string]any)
	return p
}

func typeOf(r any) string {
	m, _ := r.(map[string]any)
	s, _ := m["Type"].(string)
	return s
}

// getAttName returns X for {"Fn::GetAtt": [X, "Arn"]}, else "".
func getAttName(v any) string {
	m, _ := v.(map[string]any)
	args, _ := m["Fn::GetAtt"].([]any)
	if len(args) == 2 && args[1] == "Arn" {
		s, _ := args[0].(string)
		return s
	}
	return ""
}

func firstOfType(res map[string]any, typ string) string {
	for _, id := range sortedKeys(res) {
		if typeOf(res[id]) == typ {
			return id
		}
	}
	return ""
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func deepCopy(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// field returns v[key] when v is an object, else nil.
func field(v any, key string) any {
	m, _ := v.(map[string]any)
	return m[key]
}

// listOf reads an IAM-style value that is one item or a list of them.
func listOf(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

// TestTemplateSamconfig checks samconfig.toml against SAM CLI's documented
// format (version 0.1, [<env>.<command>.parameters] tables) and against
// template.yaml: every parameter override names a template parameter with a
// value the parameter accepts, the capabilities cover the IAM roles the
// template creates, and local_invoke's env_vars file sets exactly the
// functions' environment variables. TOML is read by Python's tomllib.
func TestTemplateSamconfig(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: samconfig.toml not checked")
	}
	out, err := exec.Command(python, "-c",
		"import json, sys, tomllib; json.dump(tomllib.load(open(sys.argv[1], 'rb')), sys.stdout)",
		filepath.Join(repoRoot, "samconfig.toml")).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "No module named 'tomllib'") {
			t.Skip("python3 has no tomllib (3.11+): samconfig.toml not checked")
		}
		t.Fatalf("samconfig.toml is not valid TOML: %v\n%s", err, out)
	}
	var cfg map[string]any
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	params, env := templateParameters(t)
	for _, p := range samconfigProblems(cfg, params, env) {
		t.Error(p)
	}
}

// templateParam is what CloudFormation checks a parameter value against.
type templateParam struct {
	Type           string   `yaml:"Type"`
	AllowedPattern string   `yaml:"AllowedPattern"`
	AllowedValues  []string `yaml:"AllowedValues"`
	MinValue       *float64 `yaml:"MinValue"`
	MaxValue       *float64 `yaml:"MaxValue"`
}

// templateParameters reads template.yaml's parameters and the names of the
// functions' Globals environment variables.
func templateParameters(t *testing.T) (map[string]templateParam, []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Parameters map[string]templateParam `yaml:"Parameters"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("template parameters: %v", err)
	}
	tpl, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	vars, _ := field(tpl.Globals["Function"]["Environment"], "Variables").(map[string]any)
	return doc.Parameters, sortedKeys(vars)
}

var overridePair = regexp.MustCompile(`^\s*([A-Za-z0-9]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)`)

// samconfigProblems lists what is wrong with a decoded samconfig.toml.
func samconfigProblems(cfg map[string]any, params map[string]templateParam, envVars []string) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if v, ok := cfg["version"].(float64); !ok || v != 0.1 {
		add("samconfig.toml: version = %v, want 0.1", cfg["version"])
	}
	for _, envName := range sortedKeys(cfg) {
		if envName == "version" {
			continue
		}
		cmds, ok := cfg[envName].(map[string]any)
		if !ok {
			add("samconfig.toml: %s is not an environment table", envName)
			continue
		}
		for _, cmd := range sortedKeys(cmds) {
			tables, _ := cmds[cmd].(map[string]any)
			if _, ok := tables["parameters"].(map[string]any); !ok || len(tables) != 1 {
				add("samconfig.toml: [%s.%s] holds %v, want only a parameters table", envName, cmd, sortedKeys(tables))
			}
		}
	}
	def, _ := cfg["default"].(map[string]any)
	section := func(cmd string) map[string]any {
		p, _ := field(def[cmd], "parameters").(map[string]any)
		return p
	}
	if s, _ := section("global")["stack_name"].(string); s == "" {
		add("samconfig.toml: [default.global.parameters] has no stack_name")
	}
	deploy := section("deploy")
	caps := fmt.Sprint(deploy["capabilities"])
	if !strings.Contains(caps, "CAPABILITY_IAM") && !strings.Contains(caps, "CAPABILITY_NAMED_IAM") {
		add("samconfig.toml: deploy capabilities %q lack CAPABILITY_IAM; the template creates IAM roles", caps)
	}
	if deploy["resolve_s3"] != true && deploy["s3_bucket"] == nil {
		add("samconfig.toml: deploy has neither resolve_s3 nor s3_bucket; sam deploy has nowhere to upload the code")
	}
	rest, _ := deploy["parameter_overrides"].(string)
	for strings.TrimSpace(rest) != "" {
		m := overridePair.FindStringSubmatch(rest)
		if m == nil {
			add("samconfig.toml: parameter_overrides cannot be read at %q (want Key=\"value\" pairs)", rest)
			break
		}
		rest = rest[len(m[0]):]
		name, value := m[1], m[2]
		if strings.HasPrefix(value, `"`) {
			value = strings.ReplaceAll(value[1:len(value)-1], `\"`, `"`)
		}
		p, ok := params[name]
		if !ok {
			add("samconfig.toml: parameter_overrides sets %s, which template.yaml does not declare", name)
			continue
		}
		if msg := p.reject(value); msg != "" {
			add("samconfig.toml: parameter_overrides %s=%q: %s", name, value, msg)
		}
	}
	if file, _ := section("local_invoke")["env_vars"].(string); file != "" {
		data, err := os.ReadFile(filepath.Join(repoRoot, file))
		var envFile struct{ Parameters map[string]any }
		if err == nil {
			err = json.Unmarshal(data, &envFile)
		}
		if err != nil {
			add("samconfig.toml: local_invoke env_vars %s: %v", file, err)
		} else if got := sortedKeys(envFile.Parameters); !slices.Equal(got, envVars) {
			add("%s sets %v, the functions' environment is %v", file, got, envVars)
		}
	}
	return problems
}

// reject says why CloudFormation would refuse value for p, or "".
func (p templateParam) reject(value string) string {
	if p.AllowedPattern != "" {
		rx, err := regexp.Compile(`^(?:` + p.AllowedPattern + `)$`)
		if err != nil {
			return fmt.Sprintf("AllowedPattern %q does not compile: %v", p.AllowedPattern, err)
		}
		if !rx.MatchString(value) {
			return fmt.Sprintf("does not match AllowedPattern %q", p.AllowedPattern)
		}
	}
	if len(p.AllowedValues) > 0 && !slices.Contains(p.AllowedValues, value) {
		return fmt.Sprintf("not one of %v", p.AllowedValues)
	}
	if p.Type == "Number" {
		var n float64
		if _, err := fmt.Sscan(value, &n); err != nil {
			return "not a number"
		}
		if p.MinValue != nil && n < *p.MinValue || p.MaxValue != nil && n > *p.MaxValue {
			return fmt.Sprintf("outside [%v, %v]", deref(p.MinValue), deref(p.MaxValue))
		}
	}
	return ""
}

func deref(f *float64) any {
	if f == nil {
		return "-"
	}
	return *f
}

func TestSamconfigProblems(t *testing.T) {
	minKeep, maxKeep := 2.0, 1000.0
	params := map[string]templateParam{
		"DefaultBake":   {Type: "String", AllowedPattern: "^([0-9]+(ms|s|m|h))+$"},
		"LogLevel":      {Type: "String", AllowedValues: []string{"DEBUG", "INFO"}},
		"KeepRevisions": {Type: "Number", MinValue: &minKeep, MaxValue: &maxKeep},
	}
	good := func() map[string]any {
		return map[string]any{
			"version": 0.1,
			"default": map[string]any{
				"global": map[string]any{"parameters": map[string]any{"stack_name": "pushdeploy"}},
				"deploy": map[string]any{"parameters": map[string]any{
					"capabilities": "CAPABILITY_IAM", "resolve_s3": true,
					"parameter_overrides": `DefaultBake="5m" LogLevel=INFO KeepRevisions="10"`,
				}},
			},
		}
	}
	deploy := func(cfg map[string]any) map[string]any {
		return field(field(cfg["default"], "deploy"), "parameters").(map[string]any)
	}
	tests := []struct {
		name   string
		break_ func(cfg map[string]any)
		want   string // "" for no problem
	}{
		{"good", func(map[string]any) {}, ""},
		{"version", func(cfg map[string]any) { cfg["version"] = 1.0 }, "want 0.1"},
		{"unknown parameter", func(cfg map[string]any) { deploy(cfg)["parameter_overrides"] = `Bake="5m"` }, "does not declare"},
		{"bad duration", func(cfg map[string]any) { deploy(cfg)["parameter_overrides"] = `DefaultBake="5 minutes"` }, "AllowedPattern"},
		{"not allowed", func(cfg map[string]any) { deploy(cfg)["parameter_overrides"] = `LogLevel="TRACE"` }, "not one of"},
		{"out of range", func(cfg map[string]any) { deploy(cfg)["parameter_overrides"] = `KeepRevisions="1"` }, "outside"},
		{"unreadable", func(cfg map[string]any) { deploy(cfg)["parameter_overrides"] = `DefaultBake "5m"` }, "cannot be read"},
		{"no IAM capability", func(cfg map[string]any) { deploy(cfg)["capabilities"] = "CAPABILITY_AUTO_EXPAND" }, "CAPABILITY_IAM"},
		{"no bucket", func(cfg map[string]any) { delete(deploy(cfg), "resolve_s3") }, "nowhere to upload"},
		{"no stack name", func(cfg map[string]any) { delete(cfg["default"].(map[string]any), "global") }, "stack_name"},
		{"stray table", func(cfg map[string]any) {
			cfg["default"].(map[string]any)["build"] = map[string]any{"params": map[string]any{}}
		}, "want only a parameters table"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good()
			tt.break_(cfg)
			problems := samconfigProblems(cfg, params, nil)
			switch {
			case tt.want == "" && len(problems) > 0:
				t.Errorf("problems %q, want none", problems)
			case tt.want != "" && !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }):
				t.Errorf("problems %q, want one mentioning %q", problems, tt.want)
			}
		})
	}
}
