package handler

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/target"
)

type fakeFollowers struct {
	disc   target.Discovery
	err    error
	leader string
}

func (f *fakeFollowers) Followers(_ context.Context, leader string) (target.Discovery, error) {
	f.leader = leader
	return f.disc, f.err
}

const stagingArn = "arn:aws:ecs:us-east-1:123456789012:service/staging/web"

func follower(cluster, name, repo, tags string) target.Target {
	arn := "arn:aws:ecs:us-east-1:123456789012:service/" + cluster + "/" + name
	tv := map[string]string{target.TagRepository: repo, target.TagAfter: "staging/web"}
	if tags != "" {
		tv[target.TagTags] = tags
	}
	c, err := target.Parse(arn, tv, target.Defaults{Timeout: time.Minute})
	if err != nil {
		panic(err)
	}
	return target.Target{ClusterName: cluster, ServiceName: name, ServiceARN: arn, Config: c}
}

func leaderPlan(trigger contract.Trigger, tag string) contract.Plan {
	return contract.Plan{ExecutionArn: execArn, Action: contract.ActionDeploy, Trigger: trigger,
		Cluster: "staging", Service: "web", ServiceArn: stagingArn,
		Image: &contract.Image{Repository: registry + "/web", Tag: tag, Digest: digestNew}}
}

func TestPromoterStart(t *testing.T) {
	prodWeb := follower("prod", "web", "web", "latest,release-*")
	tests := []struct {
		name     string
		plan     contract.Plan
		disc     target.Discovery
		findErr  error
		want     []string // clusters/services started
		problems int
	}{
		{name: "a push whose tag the follower follows", plan: leaderPlan(contract.TriggerPush, "latest"),
			disc: target.Discovery{Targets: []target.Target{prodWeb}}, want: []string{"prod/web"}},
		{name: "a push of a tag the follower does not follow", plan: leaderPlan(contract.TriggerPush, "dev-1"),
			disc: target.Discovery{Targets: []target.Target{prodWeb}}},
		{name: "a manual deploy by digest: no tag to match", plan: leaderPlan(contract.TriggerManual, ""),
			disc: target.Discovery{Targets: []target.Target{prodWeb}}, want: []string{"prod/web"}},
		{name: "another repository", plan: leaderPlan(contract.TriggerPush, "latest"),
			disc: target.Discovery{Targets: []target.Target{follower("prod", "api", "api", ""), prodWeb}}, want: []string{"prod/web"}},
		{name: "a promotion promotes on (a chain)", plan: leaderPlan(contract.TriggerPromotion, "release-3"),
			disc: target.Discovery{Targets: []target.Target{prodWeb}}, want: []string{"prod/web"}},
		{name: "a misconfigured follower is a problem, not a failure", plan: leaderPlan(contract.TriggerPush, "latest"),
			disc: target.Discovery{Targets: []target.Target{prodWeb}, Skipped: []target.Skipped{{ServiceARN: "x", Reason: "bad tag"}}},
			want: []string{"prod/web"}, problems: 1},
		{name: "the followers cannot be read", plan: leaderPlan(contract.TriggerPush, "latest"),
			findErr: errors.New("throttled"), problems: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeFollowers{disc: tt.disc, err: tt.findErr}
			sf := &fakeSFN{started: map[string]string{}}
			tr := &fakeTriggers{tickets: map[string]fakeTicket{}}
			pr, err := NewPromoter(PromoterDeps{Followers: f, Triggers: tr, SFN: sf,
				Settings: Settings{StateMachineArn: smArn, Account: account, Region: region}, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			if !Promotes(contract.TerminalSucceeded, tt.plan) {
				t.Fatal("a SUCCEEDED deploy of an image promotes")
			}
			started, problems := pr.Start(context.Background(), tt.plan)
			if f.leader != stagingArn {
				t.Errorf("followers of %q, want %q", f.leader, stagingArn)
			}
			var got []string
			for _, s := range started {
				got = append(got, s.Cluster+"/"+s.Service)
				// Trusted as a push is: the ticket is for exactly the input started.
				in, err := contract.DecodeExecutionInput([]byte(sf.started[s.Name]))
				if err != nil {
					t.Fatal(err)
				}
				if in.Trigger != contract.TriggerPromotion || in.Promotion == nil || in.Promotion.From != "staging/web" || in.Promotion.Execution != execArn || in.Digest != digestNew || in.Image != registry+"/web@"+digestNew {
					t.Errorf("input %+v", in)
				}
				if _, err := tr.Verify(context.Background(), "arn:aws:ecs:us-east-1:123456789012:service/"+s.Cluster+"/"+s.Service, s.Name, in); err != nil {
					t.Errorf("ticket: %v", err)
				}
				if s.Name != PromotionName(prodWeb.ServiceARN, digestNew, execArn) {
					t.Errorf("name %s", s.Name)
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") || len(problems) != tt.problems {
				t.Fatalf("started %v, problems %v; want %v and %d problems", got, problems, tt.want, tt.problems)
			}
			// A retried finish starts nothing new: the same names exist.
			again, problems := pr.Start(context.Background(), tt.plan)
			if len(again) != len(started) || len(problems) != tt.problems || len(sf.started) != len(started) {
				t.Fatalf("retried: %d started (%d executions), %v", len(again), len(sf.started), problems)
			}
			for _, s := range again {
				if !s.Existing {
					t.Errorf("retried: %s not counted as existing", s.Name)
				}
			}
		})
	}
}

func TestPromotes(t *testing.T) {
	p := leaderPlan(contract.TriggerPush, "latest")
	redeploy := p
	redeploy.Action = contract.ActionRedeploy
	noImage := p
	noImage.Image = nil
	for _, tt := range []struct {
		status contract.Terminal
		plan   contract.Plan
		want   bool
	}{
		{contract.TerminalSucceeded, p, true},
		{contract.TerminalRolledBack, p, false},
		{contract.TerminalSkipped, p, false},
		{contract.TerminalSucceeded, redeploy, false},
		{contract.TerminalSucceeded, noImage, false},
	} {
		if got := Promotes(tt.status, tt.plan); got != tt.want {
			t.Errorf("Promotes(%s, %s image=%v) = %v, want %v", tt.status, tt.plan.Action, tt.plan.Image != nil, got, tt.want)
		}
	}
}
