package handler

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/ledger"
	"github.com/pushdeploy/pushdeploy/internal/local/samlocal"
)

type unusedDynamoDB struct{}

var errUnused = errors.New("not used in this test")

func (unusedDynamoDB) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return nil, errUnused
}
func (unusedDynamoDB) PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return nil, errUnused
}
func (unusedDynamoDB) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return nil, errUnused
}
func (unusedDynamoDB) DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return nil, errUnused
}
func (unusedDynamoDB) Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return nil, errUnused
}
func (unusedDynamoDB) TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return nil, errUnused
}

type unusedEventBridge struct{}

func (unusedEventBridge) PutEvents(context.Context, *eventbridge.PutEventsInput, ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	return nil, errUnused
}

func (w *world) clients() Clients {
	return Clients{ECS: w.ecs, ECR: w.ecr, CloudWatch: w.cw, Tagging: w.tagging, DynamoDB: unusedDynamoDB{}, EventBridge: unusedEventBridge{}, SFN: w.sfn}
}

func TestEveryFunctionBuilds(t *testing.T) {
	w := newWorld(t)
	for _, name := range Names {
		h, err := newFunction(name, w.clients(), envOf(nil), w.clk, w.log)
		if err != nil || h == nil {
			t.Errorf("%s: %v", name, err)
		}
		// Every function exists as functions/<name>.
		if _, err := os.Stat(filepath.Join("..", "..", "..", "functions", name, "main.go")); err != nil {
			t.Errorf("functions/%s: %v", name, err)
		}
	}
	// And from the real clients built from an aws.Config.
	if _, err := newFunction("plan", ClientsFrom(aws.Config{Region: region}), envOf(nil), w.clk, w.log); err != nil {
		t.Errorf("real clients: %v", err)
	}
	// A missing client is a named error at start-up, not a nil call later.
	if _, err := RegisterFunction(Wiring{Settings: Settings{Table: "t"}}, w.ecs, nil); err == nil || !strings.Contains(err.Error(), "function register") {
		t.Errorf("register without DynamoDB: %v", err)
	}
}

func TestSettingsFromEnv(t *testing.T) {
	s, err := SettingsFromEnv(envOf(map[string]string{EnvAllowedRegistries: "", EnvAllowedAccounts: ""}))
	if err != nil {
		t.Fatal(err)
	}
	if s.Account != account || s.Region != region || len(s.Policy.Accounts) != 0 || strings.Join(s.Policy.Registries, ",") != registry {
		t.Errorf("settings %+v", s)
	}
	s, err = SettingsFromEnv(envOf(map[string]string{EnvAllowedRegistries: "ghcr.io, " + registry, EnvAllowedAccounts: "111111111111"}))
	if err != nil || len(s.Policy.Registries) != 2 || s.Policy.Accounts[0] != "111111111111" {
		t.Errorf("settings %+v (%v)", s, err)
	}
	for _, bad := range []map[string]string{
		{EnvHistoryTable: ""},
		{EnvStateMachineArn: "pushdeploy"},
		{EnvDefaultBake: "soon"},
		{EnvDeployTimeout: "0s"},
		{EnvKeepRevisions: "-1"},
		{EnvHistoryRetentionDays: "ninety"},
	} {
		if _, err := SettingsFromEnv(envOf(bad)); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestStrictPayloads: the function constructors build handlers that reject unknown fields, so a
// drift between the state machine and the contract is loud.
func TestStrictPayloads(t *testing.T) {
	w := newWorld(t)
	h, err := newFunction("check", w.clients(), envOf(nil), w.clk, w.log)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.Invoke(context.Background(), []byte(`{"phase":"rollout","plan":{},"update":{},"since":"2026-11-22T02:00:00Z","timedOut":false,"extra":1}`))
	if err == nil || !strings.Contains(err.Error(), "unknown field") {
		t.Errorf("unknown field accepted: %v", err)
	}
}

// TestSampleEvents: every file in events/ is a valid payload and the
// functions accept it.
func TestSampleEvents(t *testing.T) {
	files, err := filepath.Glob("../../../events/*.json")
	if err != nil || len(files) < 8 {
		t.Fatalf("%d sample events (%v)", len(files), err)
	}
	for _, f := range files {
		if filepath.Base(f) == "env.json" {
			continue // sam local invoke's environment, see TestEnvironment
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			w := newWorld(t)
			w.ecr.images["web"]["v42"] = "sha256:9b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff001"
			w.history.good(webArn, td(40))
			// The digest manual-release.json lifts.
			w.history.ledgers[webArn] = quarantinedOf(w.history.ledgers[webArn], "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
			name := filepath.Base(f)
			switch {
			case strings.HasPrefix(name, "manual-"):
				p, err := w.plan(t).Handle(context.Background(), contract.PlanInput{Execution: contract.Execution{ID: execArn, StartTime: t0}, Input: data})
				if err != nil || p.Action == contract.ActionSkip {
					t.Fatalf("plan %+v: %v", p, err)
				}
			default:
				var ev contract.Event
				if err := contract.DecodeStrict(data, &ev); err != nil {
					t.Fatal(err)
				}
				if ev.DetailType != contract.DetailTypeECSDeployment {
					res, err := w.dispatch(t).Handle(context.Background(), ev)
					if err != nil || len(res.Started) != 1 {
						t.Errorf("dispatch %+v: %v", res, err)
					}
				}
				if ev.DetailType == contract.DetailTypeAlarmState {
					// The one alarm path wakes a deploy in flight too.
					w.leases.state[webArn] = leaseWaiting()
					res, err := w.dispatch(t).Handle(context.Background(), ev)
					if err != nil || len(res.Woken) != 1 || len(res.Started) != 0 {
						t.Errorf("dispatch with a deploy in flight %+v: %v", res, err)
					}
				}
				if ev.DetailType == contract.DetailTypeECSDeployment {
					w.leases.state[webArn] = leaseWaiting()
					h, _ := NewEvents(EventsDeps{Evaluator: w.evaluator(t), Leases: w.leases, SFN: w.sfn, Clock: w.clk, Log: w.log})
					res, err := h.Handle(context.Background(), ev)
					if err != nil || len(res.Woken) != 1 {
						t.Errorf("events %+v: %v", res, err)
					}
				}
			}
		})
	}
}

// TestEnvironment: the template sets exactly the variables Settings reads,
// and events/env.json (for sam local invoke) is a valid environment.
func TestEnvironment(t *testing.T) {
	tpl, err := samlocal.Load("../../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	vars, _ := tpl.Globals["Function"]["Environment"].(map[string]any)["Variables"].(map[string]any)
	var got []string
	for k := range vars {
		got = append(got, k)
	}
	want := []string{EnvHistoryTable, EnvStateMachineArn, EnvAllowedRegistries, EnvAllowedAccounts, EnvDefaultBake,
		EnvDeployTimeout, EnvRollbackWindow, EnvHistoryRetentionDays, EnvKeepRevisions, EnvEventBusName}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("template sets %v, Settings reads %v", got, want)
	}
	data, err := os.ReadFile("../../../events/env.json")
	if err != nil {
		t.Fatal(err)
	}
	var env struct{ Parameters map[string]string }
	if err := contract.DecodeStrict(data, &env); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range env.Parameters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if !slices.Equal(keys, want) {
		t.Errorf("env.json sets %v", keys)
	}
	if _, err := SettingsFromEnv(func(k string) string { return env.Parameters[k] }); err != nil {
		t.Errorf("env.json: %v", err)
	}
	makefile, err := os.ReadFile("../../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range Names {
		id := strings.ToUpper(name[:1]) + name[1:] + "Function"
		fn, ok := tpl.Resources[id]
		if !ok || fn.Properties["CodeUri"] != "functions/"+name {
			t.Errorf("template has no %s with CodeUri functions/%s", id, name)
		}
		// SAM's makefile build method runs build-<LogicalId>.
		if !strings.Contains(string(makefile), "\nbuild-"+id+":\n\t$(BUILD_FUNCTION) ./functions/"+name+"\n") {
			t.Errorf("Makefile has no build-%s target building ./functions/%s", id, name)
		}
	}
}

// quarantinedOf returns l with digest quarantined.
func quarantinedOf(l ledger.Ledger, digest string) ledger.Ledger {
	l.Apply(ledger.Change{Execution: "incident", At: t0.Add(-time.Minute), Quarantine: []ledger.Quarantine{{Digest: digest, Revision: td(39)}}})
	return l
}
