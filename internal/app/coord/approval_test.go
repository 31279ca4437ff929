package coord_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
)

// TestApprovingPrefix: Acquire's IfFree condition recognises a parked
// approval wait by how its JSON begins; the phase must stay Wait's first
// field.
func TestApprovingPrefix(t *testing.T) {
	b, err := json.Marshal(coord.Wait{Token: "t", Phase: contract.PhaseApproval, Plan: contract.Plan{ApprovalSeconds: 60}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), `{"phase":"approval"`) {
		t.Fatalf("a parked approval wait encodes as %s", b)
	}
}

// TestAlarmRollbackTakesAnApprovalWait: IfFree (an alarm rollback) takes
// the lease from a holder that only waits for an approval, and says which
// phase it took over, but not from one in any other wait, nor from a newer
// holder in approval.
func TestAlarmRollbackTakesAnApprovalWait(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		phase  contract.Phase
		seq    int64
		wantOK bool
	}{
		{"approval", contract.PhaseApproval, 2, true},
		{"rollout", contract.PhaseRollout, 2, false},
		{"bake", contract.PhaseBake, 2, false},
		{"approval of a newer holder", contract.PhaseApproval, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := setup(t)
			if _, err := s.Acquire(ctx, coord.Request{Service: svc, Holder: "deploy", Seq: 1, TTL: time.Hour}); err != nil {
				t.Fatal(err)
			}
			if err := s.SetWait(ctx, svc, "deploy", coord.Wait{Token: "tok", Phase: tc.phase}); err != nil {
				t.Fatal(err)
			}
			a, err := s.Acquire(ctx, coord.Request{Service: svc, Holder: "rollback", Seq: tc.seq, TTL: time.Hour, Mode: coord.IfFree})
			var held *coord.HeldError
			var sup *coord.SupersededError
			switch {
			case tc.wantOK && err != nil:
				t.Fatalf("IfFree over %s: %v", tc.phase, err)
			case tc.wantOK && (a.Previous != "deploy" || a.PreviousToken != "tok" || a.PreviousPhase != contract.PhaseApproval):
				t.Fatalf("took over %+v", a)
			case !tc.wantOK && !errors.As(err, &held) && !errors.As(err, &sup):
				t.Fatalf("IfFree over %s = %+v, %v; want held or superseded", tc.phase, a, err)
			}
		})
	}
}

// TestApproveAndReject: approve sends who and when to the parked approval
// wait and claims its token; reject fails it with ApprovalRejected and the
// cause; neither answers a wait of another phase, another execution's, or
// one already answered.
func TestApproveAndReject(t *testing.T) {
	ctx := context.Background()
	approval := &coord.Wait{Token: "tok", Phase: contract.PhaseApproval}
	for _, tc := range []struct {
		name    string
		st      coord.State
		reject  bool
		wantErr bool
		retry   bool
	}{
		{name: "approve", st: coord.State{Holder: "ex", Token: "tok", Wait: approval}},
		{name: "reject", st: coord.State{Holder: "ex", Token: "tok", Wait: approval}, reject: true},
		{name: "not holding", st: coord.State{Holder: "other", Token: "tok", Wait: approval}, wantErr: true, retry: true},
		{name: "between steps", st: coord.State{Holder: "ex"}, wantErr: true, retry: true},
		{name: "in its rollout", st: coord.State{Holder: "ex", Token: "tok", Wait: &coord.Wait{Token: "tok", Phase: contract.PhaseRollout}}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &memLeases{st: tc.st}
			s := &fakeSFN{}
			c, err := coord.NewCoordinator(m, s, clock.NewVirtual(t0))
			if err != nil {
				t.Fatal(err)
			}
			if tc.reject {
				err = c.Reject(ctx, svc, "ex", "arn:aws:iam::1:user/bob", "not today")
			} else {
				err = c.Approve(ctx, svc, "ex", "arn:aws:iam::1:user/alice")
			}
			var not *coord.NotApprovableError
			if tc.wantErr {
				if !errors.As(err, &not) || not.Retry != tc.retry {
					t.Fatalf("err = %v, want NotApprovableError retry=%v", err, tc.retry)
				}
				if len(s.sent)+len(s.failed) != 0 {
					t.Fatalf("answered anyway: %+v %+v", s.sent, s.failed)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.st.Token != "" {
				t.Error("token not claimed")
			}
			if tc.reject {
				if len(s.failed) != 1 || aws.ToString(s.failed[0].Error) != contract.ErrorApprovalRejected ||
					aws.ToString(s.failed[0].Cause) != "rejected by arn:aws:iam::1:user/bob: not today" {
					t.Fatalf("failed = %+v", s.failed)
				}
				return
			}
			var got contract.Result[contract.Approval]
			if len(s.sent) != 1 || json.Unmarshal([]byte(aws.ToString(s.sent[0].Output)), &got) != nil ||
				got.Payload.ApprovedBy != "arn:aws:iam::1:user/alice" || !got.Payload.ApprovedAt.Equal(t0) {
				t.Fatalf("sent = %+v (%+v)", s.sent, got)
			}
			// Answered once: a second approve finds no wait.
			if err := c.Approve(ctx, svc, "ex", "x"); !errors.As(err, &not) {
				t.Fatalf("second approve: %v", err)
			}
		})
	}
}

// TestWakersLeaveApprovalsAlone: an ECS event or an alarm (WakeHolder)
// never judges an approval wait; it reports the holder approving.
func TestWakersLeaveApprovalsAlone(t *testing.T) {
	m := &memLeases{st: coord.State{Holder: "ex", Until: t0.Add(time.Hour), Token: "tok", Wait: &coord.Wait{Token: "tok", Phase: contract.PhaseApproval}}}
	s := &fakeSFN{}
	j := &fakeJudge{o: contract.Outcome{Status: contract.StatusFailed}}
	c, err := coord.NewCoordinator(m, s, clock.NewVirtual(t0))
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.WithJudge(j).WakeHolder(context.Background(), svc)
	if err != nil || !w.Live || !w.Approving || w.Wake != coord.WakeNone || len(j.judged) != 0 || len(s.sent) != 0 || m.st.Token != "tok" {
		t.Fatalf("WakeHolder = %+v, %v; judged %d, sent %d", w, err, len(j.judged), len(s.sent))
	}
}
