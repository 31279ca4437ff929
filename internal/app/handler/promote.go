package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/pushdeploy/pushdeploy/internal/app/awsapi"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/target"
	"github.com/pushdeploy/pushdeploy/internal/app/taskdef"
	"github.com/pushdeploy/pushdeploy/internal/app/trigger"
)

// Followers finds the services whose pushdeploy:after names a service
// (*target.Resolver).
type Followers interface {
	Followers(ctx context.Context, leader string) (target.Discovery, error)
}

// PromoterDeps are what starting promotions takes.
type PromoterDeps struct {
	Followers Followers
	Triggers  Triggers
	SFN       awsapi.SFN
	Settings  Settings
	Log       *slog.Logger
}

// Promoter starts, when a deploy SUCCEEDED (passed its bake), the deploy
// of its digest on each service that follows it (pushdeploy:after), with a
// trigger ticket as dispatch issues for pushes: plan refuses a promotion
// nobody issued. Which services follow is read from their tags (one
// GetResources filtered on the tag's value) rather than kept in an index:
// the tags are the configuration, so there is nothing to keep in step,
// and an index would cost the same one read per deploy.
type Promoter struct{ d PromoterDeps }

// NewPromoter returns a Promoter.
func NewPromoter(d PromoterDeps) (*Promoter, error) {
	if d.Followers == nil || d.Triggers == nil || d.SFN == nil || d.Log == nil {
		return nil, fmt.Errorf("promoter: %w", errMissing)
	}
	if d.Settings.StateMachineArn == "" {
		return nil, errors.New("promoter: no state machine ARN")
	}
	return &Promoter{d: d}, nil
}

// Promotes reports whether a finished execution's plan and status call for
// promotions: a deploy of an image that SUCCEEDED.
func Promotes(status contract.Terminal, p contract.Plan) bool {
	return status == contract.TerminalSucceeded && p.Action == contract.ActionDeploy && p.Image != nil && p.ServiceArn != "" && p.ExecutionArn != ""
}

// Start starts the promotions of p's digest (p SUCCEEDED: Promotes). It
// returns those started (an execution that exists already, from a retried
// finish, counts as started) and a problem per follower it could not
// start, for the caller to log: a promotion never fails the leader.
func (pr *Promoter) Start(ctx context.Context, p contract.Plan) ([]contract.StartedExecution, []string) {
	img, err := taskdef.ParseImage(p.Image.Ref())
	if err != nil {
		return nil, []string{"promotion: " + err.Error()}
	}
	disc, err := pr.d.Followers.Followers(ctx, p.ServiceArn)
	if err != nil {
		return nil, []string{"promotion: find the followers: " + err.Error()}
	}
	var problems []string
	for _, s := range disc.Skipped {
		problems = append(problems, "promotion to "+s.ServiceARN+" not started: "+s.Reason)
	}
	from := p.Cluster + "/" + p.Service
	st := starter{pr.d.Triggers, pr.d.SFN, pr.d.Settings.StateMachineArn, pr.d.Log}
	var started []contract.StartedExecution
	for _, t := range disc.Targets {
		if why := pr.mismatch(t, img, p); why != "" {
			pr.d.Log.InfoContext(ctx, "not promoted", "follower", t.ServiceARN, "from", from, "reason", why)
			continue
		}
		in := contract.ExecutionInput{
			Action: contract.ActionDeploy, Cluster: t.ClusterName, Service: t.ServiceName,
			Image: img.Pinned(), Digest: img.Digest, Trigger: contract.TriggerPromotion,
			Promotion: &contract.PromotionTrigger{From: from, Execution: p.ExecutionArn, Tag: p.Image.Tag},
		}
		// Ordered by its start time, as the deploy it is: now, after
		// the leader's bake.
		s, err := startTrusted(ctx, st, PromotionName(t.ServiceARN, img.Digest, p.ExecutionArn), t, in, trigger.Ticket{})
		if err != nil {
			problems = append(problems, "promotion to "+t.ClusterName+"/"+t.ServiceName+" not started: "+err.Error())
			continue
		}
		started = append(started, s)
	}
	return started, problems
}

// mismatch says why follower t does not take the leader's image, "" if it
// does: it follows the same repository of this installation's ECR and,
// when the leader's deploy was automatic (a push or a promotion), the tag
// matches its tag patterns, as a push would have to.
func (pr *Promoter) mismatch(t target.Target, img taskdef.Image, p contract.Plan) string {
	if img.Registry != taskdef.ECRRegistry(pr.d.Settings.Account, pr.d.Settings.Region) || t.Config.Repository != img.Repository {
		return "it follows repository " + t.Config.Repository + ", not " + img.Registry + "/" + img.Repository
	}
	if p.Trigger.Automatic() && !t.Config.MatchesTag(p.Image.Tag) {
		return "its pushdeploy:tags do not match " + p.Image.Tag
	}
	return ""
}
