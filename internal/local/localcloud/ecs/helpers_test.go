package ecs_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	lecs "github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecs"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/localtest"
)

const account = "123456789012"

var start = time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)

// alarmMap is an AlarmStates fake: name -> state.
type alarmMap struct {
	mu     sync.Mutex
	states map[string]string
}

func (a *alarmMap) AlarmState(_ context.Context, name string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.states[name]
	return s, ok
}

func (a *alarmMap) set(name, state string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.states[name] = state
}

type env struct {
	t      testing.TB
	clk    *clock.Virtual
	ecs    *lecs.Service
	server *localcloud.Server
	url    string
	client *ecs.Client
	bus    *localtest.Bus
	alarms *alarmMap
	log    *localtest.Buffer
}

// newEnv serves a fresh local ECS over HTTP on a virtual clock that
// advances by itself, and returns an SDK client for it.
func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, clk: clock.NewVirtual(start), bus: &localtest.Bus{}, alarms: &alarmMap{states: map[string]string{}}, log: &localtest.Buffer{}}
	svc, err := lecs.New(lecs.Options{Clock: e.clk, Account: account, Region: "us-east-1", Bus: e.bus, Alarms: e.alarms})
	if err != nil {
		t.Fatal(err)
	}
	e.ecs = svc
	e.url, e.server = localtest.Start(t, e.clk, localcloud.NewCallLog(e.log), svc)
	stop := e.clk.AutoAdvance(0)
	t.Cleanup(stop)
	e.client = ecs.NewFromConfig(localtest.Config(e.url))
	return e
}

func (e *env) ctx() context.Context { return context.Background() }

// waitFor polls cond, sleeping on the virtual clock between tries.
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	for range 400 {
		// Time stands still while cond looks, so what it sees is one instant.
		hold := e.clk.Busy()
		ok := cond()
		hold()
		if ok {
			return
		}
		if err := e.clk.Sleep(e.ctx(), 5*time.Second); err != nil {
			e.t.Fatal(err)
		}
	}
	e.t.Fatalf("%s: not reached by %s of virtual time", what, e.clk.Now().Sub(start))
}

func (e *env) service(cluster, name string) types.Service {
	e.t.Helper()
	out, err := e.client.DescribeServices(e.ctx(), &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(out.Services) != 1 {
		e.t.Fatalf("describe %s: %d services, failures %+v", name, len(out.Services), out.Failures)
	}
	return out.Services[0]
}

func (e *env) mustCluster(name string) {
	e.t.Helper()
	if _, err := e.client.CreateCluster(e.ctx(), &ecs.CreateClusterInput{ClusterName: aws.String(name)}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) register(family, image string) *types.TaskDefinition {
	e.t.Helper()
	out, err := e.client.RegisterTaskDefinition(e.ctx(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(image), Memory: aws.Int32(256),
		}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.TaskDefinition
}

// raw posts a JSON 1.1 request by hand, for inputs the SDK would refuse to
// send, and returns the status and body.
func (e *env) raw(op, body string) (int, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.url, strings.NewReader(body))
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// errCode is the AWS error code of err, or "" for success.
func errCode(err error) string {
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "not an API error: " + err.Error()
}

func rawType(body []byte) string {
	var v struct {
		Type string `json:"__type"`
	}
	json.Unmarshal(body, &v)
	return v.Type
}

func cmpDiff(a, b any) string { return cmp.Diff(a, b) }

func createInput(name string, desired int32) *ecs.CreateServiceInput {
	return &ecs.CreateServiceInput{ServiceName: aws.String(name), TaskDefinition: aws.String(name), DesiredCount: aws.Int32(desired)}
}
