package history_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/awsapi/localtest"
	"github.com/pushdeploy/pushdeploy/internal/clock"
	"github.com/pushdeploy/pushdeploy/internal/history"
	"github.com/pushdeploy/pushdeploy/internal/localcloud"
	ddblocal "github.com/pushdeploy/pushdeploy/internal/localcloud/dynamodb"
)

const (
	svcA  = "arn:aws:ecs:us-east-1:123456789012:service/prod/web"
	svcB  = "arn:aws:ecs:us-east-1:123456789012:service/prod/api"
	table = "pushdeploy-history"
)

func setup(t *testing.T, retention time.Duration) (*history.Store, *dynamodb.Client, *localtest.Cloud) {
	c := localtest.New(t, func(clk *clock.Virtual) []localcloud.RPCService {
		return []localcloud.RPCService{ddblocal.New(clk, localtest.Account)}
	})
	db := c.CreateTable(t, table)
	s, err := history.New(db, table, retention)
	if err != nil {
		t.Fatal(err)
	}
	return s, db, c
}

func record(service string, i int) history.Record {
	start := localtest.Start.Add(time.Duration(i) * time.Minute)
	return history.Record{
		Service: service, Cluster: "prod", ServiceName: "web",
		ExecutionARN: fmt.Sprintf("arn:aws:states:us-east-1:123456789012:execution:pushdeploy:exec-%d", i),
		Action:       "deploy", Trigger: "push", StartedBy: "ecr-event-" + strconv.Itoa(i),
		Images:       []history.Image{{Container: "app", Image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:" + fmt.Sprintf("%064d", i), Tag: "latest", Digest: "sha256:" + fmt.Sprintf("%064d", i)}},
		FromRevision: "web:" + strconv.Itoa(i), ToRevision: "web:" + strconv.Itoa(i+1), DeployedRevision: "web:" + strconv.Itoa(i+1),
		LastGoodBefore: "web:" + strconv.Itoa(i),
		Outcome:        history.Succeeded, Reason: "rollout completed",
		StartedAt: start, FinishedAt: start.Add(90 * time.Second),
	}
}

func TestPutOncePerExecution(t *testing.T) {
	s, _, _ := setup(t, 0)
	ctx := context.Background()
	r := record(svcA, 1)
	if err := s.Put(ctx, r); err != nil {
		t.Fatal(err)
	}
	again := r
	again.Outcome, again.Reason, again.FinishedAt = history.Failed, "second writer", r.FinishedAt.Add(time.Minute)
	// The same start time, as another writer may see it (sub-ms noise).
	again.StartedAt = r.StartedAt.Add(300 * time.Microsecond)
	err := s.Put(ctx, again)
	var dup *history.DuplicateRecordError
	if !errors.As(err, &dup) || dup.ExecutionARN != r.ExecutionARN {
		t.Fatalf("second Put: err = %v, want *DuplicateRecordError", err)
	}
	p, err := s.List(ctx, svcA, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 1 || p.Records[0].Outcome != history.Succeeded {
		t.Fatalf("records = %+v, want the first write only", p.Records)
	}
	if diff := cmp.Diff(r, p.Records[0]); diff != "" {
		t.Errorf("round trip (-want +got)\n%s", diff)
	}
}

func TestInvalidRecords(t *testing.T) {
	s, _, _ := setup(t, 0)
	for name, mut := range map[string]func(*history.Record){
		"no service":   func(r *history.Record) { r.Service = "" },
		"no execution": func(r *history.Record) { r.ExecutionARN = "" },
		"no start":     func(r *history.Record) { r.StartedAt = time.Time{} },
		"no finish":    func(r *history.Record) { r.FinishedAt = time.Time{} },
		"bad outcome":  func(r *history.Record) { r.Outcome = "DONE" },
	} {
		r := record(svcA, 1)
		mut(&r)
		var inv *history.InvalidRecordError
		if err := s.Put(context.Background(), r); !errors.As(err, &inv) {
			t.Errorf("%s: err = %v, want *InvalidRecordError", name, err)
		}
	}
}

func TestListNewestFirstPaginated(t *testing.T) {
	s, _, _ := setup(t, 0)
	ctx := context.Background()
	// Written out of order, interleaved with another service.
	for _, i := range []int{3, 1, 5, 2, 4} {
		if err := s.Put(ctx, record(svcA, i)); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, record(svcB, i+10)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	token := ""
	pages := 0
	for {
		p, err := s.List(ctx, svcA, 2, token)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range p.Records {
			got = append(got, r.ExecutionARN[len(r.ExecutionARN)-6:])
		}
		if p.Next == "" {
			break
		}
		token = p.Next
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	want := []string{"exec-5", "exec-4", "exec-3", "exec-2", "exec-1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if pages < 3 {
		t.Errorf("pages = %d, want 3", pages)
	}
	latest, ok, err := s.Latest(ctx, svcB)
	if err != nil || !ok || latest.ExecutionARN != record(svcB, 15).ExecutionARN {
		t.Errorf("Latest = %v %v %v", latest.ExecutionARN, ok, err)
	}
	if _, ok, err := s.Latest(ctx, "arn:aws:ecs:us-east-1:123456789012:service/prod/none"); ok || err != nil {
		t.Errorf("Latest of unknown service: %v %v", ok, err)
	}
}

func TestBadPageToken(t *testing.T) {
	s, _, _ := setup(t, 0)
	ctx := context.Background()
	for i := range 3 {
		if err := s.Put(ctx, record(svcA, i)); err != nil {
			t.Fatal(err)
		}
	}
	p, err := s.List(ctx, svcA, 1, "")
	if err != nil || p.Next == "" {
		t.Fatalf("first page: %+v %v", p, err)
	}
	for _, tok := range []string{"garbage!", "e30", p.Next + "x"} {
		var bad *history.InvalidPageTokenError
		if _, err := s.List(ctx, svcA, 1, tok); !errors.As(err, &bad) {
			t.Errorf("token %q: err = %v", tok, err)
		}
	}
	// A token of one service is not valid for another.
	var bad *history.InvalidPageTokenError
	if _, err := s.List(ctx, svcB, 1, p.Next); !errors.As(err, &bad) {
		t.Errorf("cross-service token: err = %v", err)
	}
}

func TestRetention(t *testing.T) {
	s, db, c := setup(t, 30*24*time.Hour)
	ctx := context.Background()
	r := record(svcA, 1)
	if err := s.Put(ctx, r); err != nil {
		t.Fatal(err)
	}
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: history.ServiceKey(svcA)},
		"sk": &ddbtypes.AttributeValueMemberS{Value: history.RecordKey(r.StartedAt, r.ExecutionARN)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	n, ok := out.Item[history.AttrExpiresAt].(*ddbtypes.AttributeValueMemberN)
	want := strconv.FormatInt(r.FinishedAt.Add(30*24*time.Hour).Unix(), 10)
	if !ok || n.Value != want {
		t.Fatalf("expiresAt = %#v, want %s", out.Item[history.AttrExpiresAt], want)
	}

	// The local DynamoDB applies TTL on its clock: after the retention the
	// record is gone.
	c.Clock.Advance(31 * 24 * time.Hour)
	if p, err := s.List(ctx, svcA, 10, ""); err != nil || len(p.Records) != 0 {
		t.Fatalf("after retention: %d records, %v", len(p.Records), err)
	}

	// Without retention, no expiresAt.
	s0, err := history.New(db, table, 0)
	if err != nil {
		t.Fatal(err)
	}
	r2 := record(svcA, 2)
	if err := s0.Put(ctx, r2); err != nil {
		t.Fatal(err)
	}
	out, _ = db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: history.ServiceKey(svcA)},
		"sk": &ddbtypes.AttributeValueMemberS{Value: history.RecordKey(r2.StartedAt, r2.ExecutionARN)},
	}})
	if _, ok := out.Item[history.AttrExpiresAt]; ok {
		t.Error("expiresAt set with no retention")
	}
}

func TestLastGood(t *testing.T) {
	s, _, _ := setup(t, 0)
	ctx := context.Background()
	if _, ok, err := s.LastGood(ctx, svcA); ok || err != nil {
		t.Fatalf("empty: %v %v", ok, err)
	}
	lg := history.LastGood{Revision: "arn:aws:ecs:us-east-1:123456789012:task-definition/web:4", ExecutionARN: "x", UpdatedAt: localtest.Start}
	if err := s.SetLastGood(ctx, svcA, lg); err != nil {
		t.Fatal(err)
	}
	lg2 := lg
	lg2.Revision = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:5"
	if err := s.SetLastGood(ctx, svcA, lg2); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.LastGood(ctx, svcA)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if diff := cmp.Diff(lg2, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	// The last good item is not a record.
	p, err := s.List(ctx, svcA, 10, "")
	if err != nil || len(p.Records) != 0 {
		t.Errorf("List = %+v %v", p, err)
	}
	var inv *history.InvalidRecordError
	if err := s.SetLastGood(ctx, svcA, history.LastGood{}); !errors.As(err, &inv) {
		t.Errorf("empty revision: err = %v", err)
	}
}

func TestNew(t *testing.T) {
	if _, err := history.New(nil, table, 0); err == nil {
		t.Error("nil client accepted")
	}
	_, db, _ := setup(t, 0)
	if _, err := history.New(db, "", 0); err == nil {
		t.Error("empty table accepted")
	}
	if _, err := history.New(db, table, -time.Second); err == nil {
		t.Error("negative retention accepted")
	}
}
