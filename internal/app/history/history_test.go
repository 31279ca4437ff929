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
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
	"github.com/pushdeploy/pushdeploy/internal/app/ledger"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	ddblocal "github.com/pushdeploy/pushdeploy/internal/local/localcloud/dynamodb"
	"github.com/pushdeploy/pushdeploy/internal/local/localtest"
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

// finishOf derives the ledger change of a record as finish does.
func finishOf(r history.Record) func(ledger.Ledger) ledger.Change {
	return func(l ledger.Ledger) ledger.Change {
		return l.ChangeOf(ledger.Finished{
			Execution: r.ExecutionARN, At: r.FinishedAt, Action: r.Action, Outcome: string(r.Outcome), Reason: r.Reason,
			From: r.FromRevision, Deployed: r.DeployedRevision, To: r.ToRevision, Digest: r.Images[0].Digest, Undone: r.Outcome == history.RolledBack,
		})
	}
}

func TestFinishWritesRecordAndLedgerOnce(t *testing.T) {
	s, _, _ := setup(t, 0)
	ctx := context.Background()
	if l, err := s.Ledger(ctx, svcA); err != nil || len(l.Revisions) != 0 {
		t.Fatalf("empty: %+v %v", l, err)
	}
	good := record(svcA, 1) // web:2 passed its bake
	if _, err := s.Finish(ctx, good, finishOf(good)); err != nil {
		t.Fatal(err)
	}
	bad := record(svcA, 2) // web:3 was rolled back to web:2
	bad.Outcome, bad.ToRevision = history.RolledBack, "web:2"
	c, err := s.Finish(ctx, bad, finishOf(bad))
	if err != nil || len(c.Quarantine) != 1 {
		t.Fatalf("finish: %+v %v", c, err)
	}
	// A retried finish writes nothing twice.
	var dup *history.DuplicateRecordError
	if _, err := s.Finish(ctx, bad, finishOf(bad)); !errors.As(err, &dup) {
		t.Fatalf("second finish: %v, want DuplicateRecordError", err)
	}
	l, err := s.Ledger(ctx, svcA)
	if err != nil {
		t.Fatal(err)
	}
	lg, _ := l.LastGood()
	q, quarantined := l.Quarantine(bad.Images[0].Digest)
	if lg.Revision != "web:2" || lg.Via != ledger.ViaRollback || !l.IsBad("web:3") || !quarantined || q.Execution != bad.ExecutionARN || len(l.Revisions) != 3 {
		t.Fatalf("ledger %+v", l)
	}
	p, err := s.List(ctx, svcA, 10, "")
	if err != nil || len(p.Records) != 2 {
		t.Fatalf("records %+v %v (the ledger item is not a record)", p, err)
	}
	if diff := cmp.Diff([]string{bad.Images[0].Digest}, p.Records[0].Quarantined); diff != "" {
		t.Errorf("the record does not name what it quarantined (-want +got)\n%s", diff)
	}
}

func TestFinishDerivesAgainAfterAConcurrentWrite(t *testing.T) {
	s, _, _ := setup(t, 0)
	ctx := context.Background()
	first, other := record(svcA, 1), record(svcA, 5)
	calls := 0
	_, err := s.Finish(ctx, first, func(l ledger.Ledger) ledger.Change {
		calls++
		if calls == 1 {
			// Another execution's finish lands between the read and the write.
			if _, err := s.Finish(ctx, other, finishOf(other)); err != nil {
				t.Fatal(err)
			}
		}
		return finishOf(first)(l)
	})
	if err != nil || calls != 2 {
		t.Fatalf("finish: %v after %d derivations, want 2", err, calls)
	}
	l, _ := s.Ledger(ctx, svcA)
	if _, ok := l.Get(first.ToRevision); !ok {
		t.Fatalf("the first change was lost: %+v", l.Revisions)
	}
	if _, ok := l.Get(other.ToRevision); !ok {
		t.Fatalf("the concurrent change was lost: %+v", l.Revisions)
	}
}

func TestJoinFamily(t *testing.T) {
	s, _, _ := setup(t, 0)
	ctx := context.Background()
	if got, err := s.JoinFamily(ctx, "web", svcA); err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	s.JoinFamily(ctx, "web", svcA)
	got, err := s.JoinFamily(ctx, "web", svcB)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{svcB, svcA}, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
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

// FinishWith writes the lease's release (coord's own transaction item) with
// the record and ledger in one call; when the lease is not the caller's, the
// record and ledger are written without it and the lease is left alone.
func TestFinishWithReleasesTheLeaseInTheSameTransaction(t *testing.T) {
	s, db, c := setup(t, 0)
	ctx := context.Background()
	leases, err := coord.New(db, table, c.Clock)
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range []struct {
		name, holder string
		written      bool
	}{
		{"held", "exec-held", true},
		{"taken by another", "exec-other", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := record(svcA, 10+i)
			if _, err := leases.Acquire(ctx, coord.Request{Service: svcA, Holder: tt.holder, Seq: int64(100 + i), TTL: time.Hour, Mode: coord.Preempt}); err != nil {
				t.Fatal(err)
			}
			release, err := leases.ReleaseWrite(svcA, "exec-held")
			if err != nil {
				t.Fatal(err)
			}
			before := c.Server.Log.Count("dynamodb", "")
			w, err := s.FinishWith(ctx, r, finishOf(r), &release)
			if err != nil || w.Also != tt.written {
				t.Fatalf("written %v, %v; want %v", w.Also, err, tt.written)
			}
			if stored, err := s.Ledger(ctx, svcA); err != nil || !cmp.Equal(stored, w.Ledger, cmpopts.EquateEmpty()) {
				t.Errorf("ledger returned %+v, stored %+v (%v)", w.Ledger, stored, err)
			}
			if n := c.Server.Log.Count("dynamodb", "") - before - 1; tt.written && n != 2 { // the ledger's read, one transaction (and the check's read)
				t.Errorf("%d calls, want 2", n)
			}
			st, err := leases.Get(ctx, svcA)
			if err != nil {
				t.Fatal(err)
			}
			if tt.written && (st.Holder != "" || st.LastHolder != "exec-held") || !tt.written && st.Holder != tt.holder {
				t.Errorf("lease %+v", st)
			}
			if _, ok, err := s.Latest(ctx, svcA); err != nil || !ok {
				t.Errorf("no record: %v", err)
			}
			if l, _ := s.Ledger(ctx, svcA); l.IsBad(r.DeployedRevision) {
				t.Errorf("ledger %+v", l)
			}
		})
	}
}

// ForgetIn forgets from the ledger FinishWith wrote with one write and no
// read; when another finish wrote the ledger since, it reads it again.
func TestForgetInWritesOnceFromTheWrittenLedger(t *testing.T) {
	s, _, c := setup(t, 0)
	ctx := context.Background()
	first := record(svcA, 1)
	w, err := s.FinishWith(ctx, first, finishOf(first), nil)
	if err != nil {
		t.Fatal(err)
	}
	before := c.Server.Log.Count("dynamodb", "")
	if err := s.ForgetIn(ctx, w, []string{first.DeployedRevision}); err != nil {
		t.Fatal(err)
	}
	if n := c.Server.Log.Count("dynamodb", "") - before; n != 1 || c.Server.Log.Count("dynamodb", "GetItem") != 1 {
		t.Errorf("%d calls, want one write (and only FinishWith's read)", n)
	}
	l, err := s.Ledger(ctx, svcA)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := l.Get(first.DeployedRevision); ok {
		t.Errorf("still in the ledger: %+v", l)
	}
	// Stale: another finish wrote the ledger after w.
	second := record(svcA, 2)
	w2, err := s.FinishWith(ctx, second, finishOf(second), nil)
	if err != nil {
		t.Fatal(err)
	}
	third := record(svcA, 3)
	if _, err := s.Finish(ctx, third, finishOf(third)); err != nil {
		t.Fatal(err)
	}
	if err := s.ForgetIn(ctx, w2, []string{second.DeployedRevision}); err != nil {
		t.Fatal(err)
	}
	l, _ = s.Ledger(ctx, svcA)
	if _, ok := l.Get(second.DeployedRevision); ok {
		t.Errorf("stale: still in the ledger: %+v", l)
	}
	if _, ok := l.Get(third.DeployedRevision); !ok {
		t.Errorf("stale: the newer finish's revision was lost: %+v", l)
	}
}
