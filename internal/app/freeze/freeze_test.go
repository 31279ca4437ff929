package freeze_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/freeze"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	ddblocal "github.com/pushdeploy/pushdeploy/internal/local/localcloud/dynamodb"
	"github.com/pushdeploy/pushdeploy/internal/local/localtest"
)

const (
	web = "arn:aws:ecs:us-east-1:123456789012:service/prod/web"
	api = "arn:aws:ecs:us-east-1:123456789012:service/prod/api"
)

var now = localtest.Start

func TestCovering(t *testing.T) {
	all := freeze.Freeze{Cluster: "prod", Reason: "release window", By: "alice"}
	own := freeze.Freeze{Cluster: "prod", Service: web, Reason: "incident", By: "bob", Until: now.Add(time.Hour)}
	ended := freeze.Freeze{Cluster: "prod", Service: api, Reason: "old", By: "carol", Until: now}
	for _, tc := range []struct {
		name    string
		fs      []freeze.Freeze
		service string
		want    string // By of the covering freeze, "" none
	}{
		{name: "none", service: web},
		{name: "the service's own first", fs: []freeze.Freeze{all, own}, service: web, want: "bob"},
		{name: "else the cluster's", fs: []freeze.Freeze{all, own}, service: api, want: "alice"},
		{name: "an ended freeze does not cover", fs: []freeze.Freeze{ended}, service: api},
		{name: "an ended own falls back to the cluster's", fs: []freeze.Freeze{ended, all}, service: api, want: "alice"},
		{name: "another service's does not cover", fs: []freeze.Freeze{own}, service: api},
	} {
		f, ok := freeze.Covering(tc.fs, tc.service, now)
		if ok != (tc.want != "") || f.By != tc.want {
			t.Errorf("%s: Covering = %+v, %v; want by %q", tc.name, f, ok, tc.want)
		}
	}
}

func TestExplain(t *testing.T) {
	for _, tc := range []struct {
		f    freeze.Freeze
		want string
	}{
		{freeze.Freeze{Reason: "incident 42", By: "arn:aws:sts::1:assumed-role/ops/alice"}, "frozen: incident 42 by arn:aws:sts::1:assumed-role/ops/alice until unfrozen"},
		{freeze.Freeze{Reason: "release", By: "bob", Until: now.Add(90 * time.Minute)}, "frozen: release by bob until 2026-11-22T04:30:00Z"},
	} {
		if got := tc.f.Explain(); got != tc.want {
			t.Errorf("Explain = %q, want %q", got, tc.want)
		}
	}
	if got := freeze.ClusterName("arn:aws:ecs:us-east-1:1:cluster/prod"); got != "prod" {
		t.Errorf("ClusterName = %q", got)
	}
}

// TestStore runs the store against the local cloud's DynamoDB with the real
// SDK client: conditional freeze, list, cover, unfreeze.
func TestStore(t *testing.T) {
	c := localtest.New(t, func(clk *clock.Virtual) []localcloud.RPCService {
		return []localcloud.RPCService{ddblocal.New(clk, localtest.Account)}
	})
	db := c.CreateTable(t, "pushdeploy-history")
	s, err := freeze.NewStore(db, "pushdeploy-history")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Put(ctx, freeze.Freeze{Cluster: "prod", Service: web, By: "bob"}, now); !errors.As(err, new(*freeze.InvalidError)) {
		t.Fatalf("no reason: %v, want *InvalidError", err)
	}
	if err := s.Put(ctx, freeze.Freeze{Cluster: "prod", Service: web, Reason: "x", By: "bob", Until: now}, now); !errors.As(err, new(*freeze.InvalidError)) {
		t.Fatalf("until now: %v, want *InvalidError", err)
	}
	own := freeze.Freeze{Cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/prod", Service: web, Reason: "incident", By: "bob", Since: now, Until: now.Add(time.Hour)}
	if err := s.Put(ctx, own, now); err != nil {
		t.Fatal(err)
	}
	var frozen *freeze.FrozenError
	if err := s.Put(ctx, freeze.Freeze{Cluster: "prod", Service: web, Reason: "again", By: "carol"}, now); !errors.As(err, &frozen) || frozen.Existing.By != "bob" {
		t.Fatalf("second freeze: %v, want *FrozenError naming bob's", err)
	} else if !strings.Contains(err.Error(), "already frozen (incident by bob until 2026-11-22T04:00:00Z)") {
		t.Errorf("message %q", err)
	}
	// Once ended it may be replaced.
	if err := s.Put(ctx, freeze.Freeze{Cluster: "prod", Service: web, Reason: "again", By: "carol"}, now.Add(2*time.Hour)); err != nil {
		t.Fatalf("replace an ended freeze: %v", err)
	}
	if err := s.Put(ctx, freeze.Freeze{Cluster: "prod", Reason: "window", By: "alice", Since: now}, now); err != nil {
		t.Fatal(err)
	}
	if f, ok, err := s.For(ctx, "prod", api, now); err != nil || !ok || f.By != "alice" || f.Service != "" {
		t.Fatalf("For(api) = %+v, %v, %v; want the cluster's", f, ok, err)
	}
	if f, ok, err := s.For(ctx, "prod", web, now); err != nil || !ok || f.By != "carol" {
		t.Fatalf("For(web) = %+v, %v, %v; want carol's", f, ok, err)
	}
	if _, ok, err := s.For(ctx, "staging", web, now); err != nil || ok {
		t.Fatalf("another cluster: %v, %v", ok, err)
	}
	if f, err := s.Delete(ctx, "prod", ""); err != nil || f.By != "alice" {
		t.Fatalf("unfreeze cluster: %+v, %v", f, err)
	}
	var not *freeze.NotFrozenError
	if _, err := s.Delete(ctx, "prod", ""); !errors.As(err, &not) || err.Error() != "every service of cluster prod is not frozen" {
		t.Fatalf("unfreeze twice: %v", err)
	}
	if f, ok, _ := s.For(ctx, "prod", api, now); ok {
		t.Fatalf("api still frozen: %+v", f)
	}
}
