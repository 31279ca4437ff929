package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestGolden pins every contract's JSON shape: read testdata, unmarshal
// strictly, marshal, compare as JSON. A renamed or dropped field fails here.
func TestGolden(t *testing.T) {
	tests := []struct {
		file string
		v    any
	}{
		{"execution_input_push.json", new(ExecutionInput)},
		{"execution_input_alarm.json", new(ExecutionInput)},
		{"execution_input_manual_deploy.json", new(ExecutionInput)},
		{"execution_input_manual_rollback.json", new(ExecutionInput)},
		{"plan_input.json", new(PlanInput)},
		{"plan.json", new(Plan)},
		{"plan_skip.json", new(Plan)},
		{"register_input.json", new(RegisterInput)},
		{"register_result.json", new(RegisterResult)},
		{"update_input.json", new(UpdateInput)},
		{"update_result.json", new(UpdateResult)},
		{"watch_input.json", new(WatchInput)},
		{"watch_result.json", new(WatchResult)},
		{"check_input.json", new(CheckInput)},
		{"outcome.json", new(Outcome)},
		{"outcome_result.json", new(Result[Outcome])},
		{"finish_input_failed.json", new(FinishInput)},
		{"finish_input_rolled_back.json", new(FinishInput)},
		{"finish_request.json", new(FinishRequest)},
		{"finish_result.json", new(FinishResult)},
		{"dispatch_result.json", new(DispatchResult)},
		{"events_result.json", new(EventsResult)},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if err := DecodeStrict(want, tt.v); err != nil {
				t.Fatalf("decode: %v", err)
			}
			got, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, want, got) {
				t.Errorf("round trip differs\nwant %s\ngot  %s", compact(t, want), got)
			}
		})
	}
	files, _ := filepath.Glob("testdata/*.json")
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("golden file %s is not checked", f)
		}
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

func compact(t *testing.T, b []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestDecodeExecutionInputRejects(t *testing.T) {
	tests := []struct{ name, in string }{
		{"unknown field", `{"action":"deploy","cluster":"c","service":"s","imag":"x"}`},
		{"wrong type", `{"action":"deploy","cluster":1,"service":"s"}`},
		{"trailing data", `{"action":"deploy","cluster":"c","service":"s"} {}`},
		{"not an object", `"deploy"`},
		{"empty", ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeExecutionInput([]byte(tt.in))
			var bad *BadInput
			if !errors.As(err, &bad) {
				t.Fatalf("err = %v, want *BadInput", err)
			}
		})
	}
	in, err := DecodeExecutionInput([]byte(`{"action":"rollback","cluster":"c","service":"s"}`))
	if err != nil || in.Action != ActionRollback || in.Cluster != "c" || in.Service != "s" {
		t.Fatalf("valid input: %+v, %v", in, err)
	}
}

// TestErrorNames checks that ErrorNames is exactly the set of error types
// declared here, by the name aws-lambda-go reports (the pointer's element).
func TestErrorNames(t *testing.T) {
	errs := []error{
		&BadInput{}, &ServiceNotFound{}, &ContainerNotFound{}, &RegistryNotAllowed{},
		&WrongFamily{}, &ImageNotFound{}, &UnsupportedDeploymentController{}, &Superseded{}, &Throttled{}, &Retryable{}, &Internal{},
	}
	var got []string
	for _, e := range errs {
		got = append(got, reflect.TypeOf(e).Elem().Name())
		if e.Error() == "" {
			t.Errorf("%T has an empty message", e)
		}
	}
	if strings.Join(got, ",") != strings.Join(ErrorNames(), ",") {
		t.Errorf("ErrorNames() = %v, types = %v", ErrorNames(), got)
	}
	src, err := os.ReadFile("errors.go")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(src), ") Error() string"); n != len(errs) {
		t.Errorf("errors.go declares %d error types, test knows %d", n, len(errs))
	}
}
