package e2e

// TestSoak is a seeded, randomized, model-based soak: one world, three
// services, a random mix of pushes, crashes, alarms, retags, duplicates,
// bursts, manual executions, forged inputs and throttling, each run as a
// phase (apply, let the virtual clock run until every execution has ended,
// set the alarms back to OK, check the invariants against the model).
//
//	make soak SEED=7 EVENTS=300
//	go test -count=1 -run '^TestSoak$' ./internal/e2e/ -soak.seed=7 -soak.events=300
//
// Without -soak.seed, it runs a few fixed seeds, small enough for CI.
// -soak.keepgoing reports every failing phase (what is new in each) instead
// of stopping at the first; -soak.skip=kind,... leaves event kinds out.
//
// The world: prod/web and staging/web follow web (staging also stage-*)
// and share the task definition family "web"; prod/api follows api. Each
// has its own alarm, a short rollout, a 5m bake, a 30m rollback window;
// KeepRevisions is 3. The events (weights in eventWeights): pushes of good
// images, of crashing ones, of ones whose alarm fires in the bake or right
// after it, an alarm outside the window, a duplicated delivery of the last
// push event, a burst of 2-4 pushes within one second, a retag to an earlier
// digest, manual deploys by digest (with and without force), rollbacks,
// redeploys, quarantine releases, forged push triggers, throttling of ECS,
// DynamoDB and Step Functions.
//
// After each phase, for every service: no execution runs; every execution
// has exactly one terminal record; no lease is held; the phase's executions
// end as the model says (soak_model_test.go); the service runs the digest
// and the revision the model says; it does not run a quarantined digest;
// the product's quarantine is the model's; no rollback of the phase went to
// a revision the ledger marks bad; the ledger's last good is the model's and
// the revisions the model holds bad are bad in it; the current revision,
// every good revision of the ledger and the next rollback target are ACTIVE.
//
// Where the brief leaves a choice, the model decides so: the initial
// revision becomes good (the oldest) at pushdeploy's first completed
// change of the service, as the ledger records it; a rollback target passes
// over good revisions that carry a quarantined digest; a redeploy ends the
// rollback window of the deploy that put the revision there; a second alarm
// on the same revision starts nothing, or an execution that is SKIPPED.

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/freeze"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
	"github.com/pushdeploy/pushdeploy/internal/app/ledger"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	lcecs "github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecs"
	"github.com/pushdeploy/pushdeploy/internal/local/localrun"
	"github.com/pushdeploy/pushdeploy/internal/local/states"
)

var (
	soakSeed   = flag.Int64("soak.seed", -1, "soak: run this one seed (default: the CI seeds)")
	soakEvents = flag.Int("soak.events", 100, "soak: events of a -soak.seed run")
	soakGoOn   = flag.Bool("soak.keepgoing", false, "soak: report a failing phase and go on (later phases may fail because of it)")
	soakSkip   = flag.String("soak.skip", "", "soak: comma-separated event kinds left out of the mix (e.g. forged-push,release), to look past a known failure")
	soakTrace  = flag.Bool("soak.trace", false, "soak: log the trace (one line per event) also when the soak passes")
)

// The CI seeds and their length.
var (
	ciSeeds     = []int64{1, 2, 3}
	ciSoakEvent = 40
)

const (
	soakBake     = 5 * time.Minute
	soakWindow   = 30 * time.Minute
	soakTimeout  = 10 * time.Minute
	soakKeepRevs = "3"
	soakKeep     = 3 // soakKeepRevs as a number
)

func TestSoak(t *testing.T) {
	if *soakSeed >= 0 {
		runSoak(t, *soakSeed, *soakEvents)
		return
	}
	for _, seed := range ciSeeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { runSoak(t, seed, ciSoakEvent) })
	}
}

// soakService is one service of the soak's world.
type soakService struct {
	cluster, name, family string
	repo                  string
	tags                  []string // pushdeploy:tags patterns
	alarm                 string
	rollout               time.Duration
	arn                   string
	strategy              ecstypes.DeploymentStrategy
}

func (s *soakService) label() string { return s.cluster + "/" + s.name }

func (s *soakService) follows(repo, tag string) bool {
	if repo != s.repo {
		return false
	}
	for _, p := range s.tags {
		if p == tag || (strings.HasSuffix(p, "*") && strings.HasPrefix(tag, strings.TrimSuffix(p, "*"))) {
			return true
		}
	}
	return false
}

// soakRepo is what the soak pushed to one repository.
type soakRepo struct {
	name, uri string
	digests   []string          // in push order
	tags      map[string]string // tag -> digest
	stages    []string          // stage-N tags pushed
}

type soak struct {
	t        *testing.T
	w        *world
	rng      *rand.Rand
	seed     int64
	m        *model
	svcs     []*soakService
	mod      map[*soakService]*mService
	repos    map[string]*soakRepo
	order    []string          // repository names, for picking
	seeds    map[string]string // digest -> manifest seed
	seen     map[string]bool   // executions checked by an earlier phase
	inputs   map[string]string // execution -> the digest of its input
	images   int
	throttl  int // phases of throttling left; 0: none
	alarmed  []*soakService
	unwatch  []func() // the phase's execution watchers (alarmInBake)
	calls    int      // the call log's length when the phase began
	trace    []string
	failed   []string // with -soak.keepgoing: the failing phases so far
	reported map[string]bool
}

// newSoakWorld is newWorldWith with a deadline that fits a long soak and an
// SDK config for the soak's own calls that outlasts any throttling.
func newSoakWorld(t *testing.T, params map[string]string, timeout time.Duration) *world {
	t.Helper()
	w := startWorld(t, params, timeout)
	// One HTTP client for the soak's own calls: the helpers make an SDK
	// client per call, each with its own connection pool otherwise.
	w.Config.HTTPClient = awshttp.NewBuildableClient()
	w.Config.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts, o.MaxBackoff, o.RateLimiter = 30, 5*time.Millisecond, ratelimit.None
		})
	}
	return w
}

func runSoak(t *testing.T, seed int64, events int) {
	began := time.Now()
	w := newSoakWorld(t, map[string]string{"KeepRevisions": soakKeepRevs}, 2*time.Minute+time.Duration(events)*10*time.Second)
	s := &soak{
		t: t, w: w, rng: rand.New(rand.NewSource(seed)), seed: seed,
		mod: map[*soakService]*mService{}, repos: map[string]*soakRepo{},
		seeds: map[string]string{}, seen: map[string]bool{}, inputs: map[string]string{},
	}
	s.m = &model{crash: map[string]bool{}, now: w.clock.Now}
	s.setUp()
	setup := time.Since(began)
	var spent time.Duration
	for i := 1; i <= events; i++ {
		start := time.Now()
		s.phase(i, events)
		spent += time.Since(start)
	}
	defer s.finish()
	if *soakTrace {
		t.Logf("soak seed=%d trace:\n  %s", seed, strings.Join(s.trace, "\n  "))
	}
	throttled := 0
	for _, c := range w.Cloud.Log().Calls() {
		if strings.Contains(c.Error, "Throttling") {
			throttled++
		}
	}
	execs, _ := w.Executions(w.ctx)
	t.Logf("soak seed=%d: %d events in %.1fs (%.0f ms/event; set-up %.1fs): %d executions, %d throttled calls, %s of virtual time",
		seed, events, spent.Seconds(), float64(spent.Milliseconds())/float64(events), setup.Seconds(), len(execs), throttled, w.clock.Now().Sub(epoch).Round(time.Minute))
}

// setUp creates the repositories, alarms and services: prod/web and
// staging/web follow web (staging also its stage-* tags) and share the task
// definition family "web"; prod/api follows api.
func (s *soak) setUp() {
	w := s.w
	for _, name := range []string{"web", "api"} {
		uri, err := w.CreateRepository(w.ctx, name)
		if err != nil {
			s.t.Fatal(err)
		}
		s.repos[name] = &soakRepo{name: name, uri: uri, tags: map[string]string{}}
		s.order = append(s.order, name)
	}
	s.svcs = []*soakService{
		{cluster: "prod", name: "web", family: "web", repo: "web", tags: []string{"latest"}, alarm: "soak-prod-web", rollout: 3 * time.Minute},
		{cluster: "staging", name: "web", family: "web", repo: "web", tags: []string{"latest", "stage-*"}, alarm: "soak-staging-web", rollout: 4 * time.Minute},
		{cluster: "prod", name: "api", family: "api", repo: "api", tags: []string{"latest"}, alarm: "soak-prod-api", rollout: 2 * time.Minute},
	}
	// The strategies come from their own source, so that a seed's events
	// stay the ones it drew before services had strategies.
	strategies := rand.New(rand.NewSource(s.seed + 1))
	for _, sv := range s.svcs {
		repo := s.repos[sv.repo]
		seed := fmt.Sprintf("soak %d initial %s", s.seed, sv.label())
		tag := "v0-" + sv.cluster + "-" + sv.name
		digest, err := w.Push(w.ctx, sv.repo, tag, seed)
		if err != nil {
			s.t.Fatal(err)
		}
		repo.digests = append(repo.digests, digest)
		repo.tags[tag] = digest
		s.seeds[digest] = seed
		if err := w.CreateAlarm(w.ctx, sv.alarm, nil); err != nil {
			s.t.Fatal(err)
		}
		sv.arn, err = w.CreateService(w.ctx, localrun.ServiceSpec{
			Cluster: sv.cluster, Name: sv.name, Family: sv.family,
			Containers: []localrun.Container{{Name: "app", Image: repo.uri + "@" + digest}},
			Tags: map[string]string{
				"pushdeploy:repository": sv.repo, "pushdeploy:tags": strings.Join(sv.tags, ","),
				"pushdeploy:alarms": sv.alarm, "pushdeploy:bake": soakBake.String(),
				"pushdeploy:timeout": soakTimeout.String(), "pushdeploy:rollback-window": soakWindow.String(),
			},
		})
		if err != nil {
			s.t.Fatal(err)
		}
		w.Cloud.ECS().Faults().SetRolloutDuration(sv.arn, sv.rollout)
		s.setStrategy(sv, strategies)
		td, _ := w.running(sv.cluster, sv.name)
		ms := &mService{spec: sv, quar: map[string]bool{}}
		ms.cur = ms.newRev(digest)
		ms.cur.arn = td
		ms.initial = ms.cur
		s.mod[sv] = ms
		s.m.svcs = append(s.m.svcs, ms)
	}
	if err := s.settle(); err != nil {
		s.t.Fatal(err)
	}
	s.trace = append(s.trace, fmt.Sprintf("seed %d; services: %s", s.seed, s.models()))
}

// setStrategy gives a service a random ECS deployment strategy, with short
// traffic steps and no ECS bake: the model's bake and rollback window are
// pushdeploy's.
func (s *soak) setStrategy(sv *soakService, rng *rand.Rand) {
	all := []ecstypes.DeploymentStrategy{ecstypes.DeploymentStrategyRolling, ecstypes.DeploymentStrategyBlueGreen,
		ecstypes.DeploymentStrategyLinear, ecstypes.DeploymentStrategyCanary}
	sv.strategy = all[rng.Intn(len(all))]
	_, err := ecs.NewFromConfig(s.w.Config).UpdateService(s.w.ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String(sv.cluster), Service: aws.String(sv.name),
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{
			Strategy: sv.strategy, BakeTimeInMinutes: aws.Int32(0),
			LinearConfiguration: &ecstypes.LinearConfiguration{StepPercent: aws.Float64(50), StepBakeTimeInMinutes: aws.Int32(1)},
			CanaryConfiguration: &ecstypes.CanaryConfiguration{CanaryPercent: aws.Float64(20), CanaryBakeTimeInMinutes: aws.Int32(1)},
		}})
	if err != nil {
		s.t.Fatal(err)
	}
}

func (s *soak) models() string {
	var parts []string
	for _, ms := range s.m.svcs {
		parts = append(parts, ms.summary()+" "+string(ms.spec.strategy))
	}
	return strings.Join(parts, "; ")
}

// The event kinds and their weights.
type eventKind int

const (
	evPush eventKind = iota
	evCrash
	evBakeAlarm
	evLateAlarm
	evOutsideAlarm
	evDuplicate
	evBurst
	evRetag
	evManualDeploy
	evRollback
	evRedeploy
	evRelease
	evForged
	evThrottle
	evFrozenPush
)

var eventNames = map[eventKind]string{
	evPush: "push", evCrash: "push-crash", evBakeAlarm: "push-alarm-in-bake", evLateAlarm: "push-alarm-after-bake",
	evOutsideAlarm: "alarm-outside-window", evDuplicate: "duplicate", evBurst: "burst", evRetag: "retag",
	evManualDeploy: "manual-deploy", evRollback: "manual-rollback", evRedeploy: "redeploy", evRelease: "release",
	evForged: "forged-push", evThrottle: "throttle", evFrozenPush: "push-while-frozen",
}

var eventWeights = []struct {
	kind   eventKind
	weight int
}{
	{evPush, 18}, {evCrash, 8}, {evBakeAlarm, 7}, {evLateAlarm, 8}, {evOutsideAlarm, 4}, {evDuplicate, 5},
	{evBurst, 6}, {evRetag, 9}, {evManualDeploy, 9}, {evRollback, 6}, {evRedeploy, 4}, {evRelease, 5},
	{evForged, 3}, {evThrottle, 3}, {evFrozenPush, 4},
}

func (s *soak) pick() eventKind {
	total := 0
	for _, e := range eventWeights {
		total += s.weight(e.kind, e.weight)
	}
	n := s.rng.Intn(total)
	for _, e := range eventWeights {
		if n -= s.weight(e.kind, e.weight); n < 0 {
			return e.kind
		}
	}
	return evPush
}

func (s *soak) weight(k eventKind, w int) int {
	for _, name := range strings.Split(*soakSkip, ",") {
		if name == eventNames[k] {
			return 0
		}
	}
	if k == evRelease {
		for _, ms := range s.m.svcs {
			if len(ms.quar) > 0 {
				return w
			}
		}
		return 0
	}
	return w
}

// phase runs one event: apply it, let the clock run until every execution
// has ended, set the alarms back to OK, check.
func (s *soak) phase(i, events int) {
	if s.throttl > 0 {
		if s.throttl--; s.throttl == 0 {
			s.w.Cloud.Faults().Clear()
		}
	}
	start := time.Now()
	s.calls = len(s.w.Cloud.Log().Calls())
	at := s.w.clock.Now().Sub(epoch).Round(time.Second)
	kind := s.pick()
	what, exps := s.apply(kind)
	var bad []string
	if err := s.settle(); err != nil {
		bad = append(bad, err.Error())
	}
	for _, stop := range s.unwatch {
		stop()
	}
	s.unwatch = nil
	for _, sv := range s.alarmed {
		if err := s.w.SetAlarm(s.w.ctx, sv.alarm, "OK"); err != nil {
			bad = append(bad, err.Error())
		}
	}
	s.alarmed = nil
	if err := s.settle(); err != nil {
		bad = append(bad, err.Error())
	}
	if len(bad) == 0 {
		bad = s.forgetCleaned()
	}
	if len(bad) == 0 {
		bad = s.check(exps)
	}
	var want []string
	for _, e := range exps {
		want = append(want, e.String())
	}
	if len(want) == 0 {
		want = []string{"no execution"}
	}
	line := fmt.Sprintf("#%03d +%s %-22s %s => expect %s  [%s]", i, fmtClock(at), eventNames[kind], what, strings.Join(want, "; "), time.Since(start).Round(time.Millisecond))
	s.trace = append(s.trace, line)
	if len(bad) > 0 {
		s.fail(i, bad)
	}
}

// finish fails the test with the phases that failed, under -soak.keepgoing.
func (s *soak) finish() {
	if len(s.failed) > 0 {
		s.t.Fatalf("soak seed %d: %d failing phases:\n%s", s.seed, len(s.failed), strings.Join(s.failed, "\n"))
	}
}

func fmtClock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
}

func (s *soak) fail(i int, bad []string) {
	if *soakGoOn && len(s.failed) > 0 {
		// Report what is new since the last phase: the rest persists.
		var fresh []string
		for _, v := range bad {
			if !s.reported[v] {
				fresh = append(fresh, v)
			}
		}
		s.remember(bad)
		if len(fresh) > 0 {
			s.failed = append(s.failed, s.trace[len(s.trace)-1]+"\n    - "+strings.Join(fresh, "\n    - "))
		}
		return
	}
	repro := fmt.Sprintf("reproduce with:\n  make soak SEED=%d EVENTS=%d\n  (go test -count=1 -run '^TestSoak$' ./internal/e2e/ -soak.seed=%d -soak.events=%d)",
		s.seed, i, s.seed, i)
	var b strings.Builder
	fmt.Fprintf(&b, "soak seed %d failed at event %d; %s\n\ntrace (event: what the model expects):\n", s.seed, i, repro)
	for _, l := range s.trace {
		b.WriteString("  " + l + "\n")
	}
	b.WriteString("\nmodel after the event:\n")
	for _, ms := range s.m.svcs {
		b.WriteString("  " + ms.summary() + "\n")
	}
	b.WriteString("\nthe product's ledgers (revision status/via, oldest first; quarantined digests):\n")
	for _, sv := range s.svcs {
		b.WriteString("  " + s.ledgerSummary(sv) + "\n")
	}
	b.WriteString("\nthis event's task definition changes:\n")
	for _, c := range s.w.Cloud.Log().Calls()[s.calls:] {
		if c.Service == "ecs" && c.Error == "" && (c.Operation == "RegisterTaskDefinition" || c.Operation == "DeregisterTaskDefinition" || c.Operation == "UpdateService") {
			b.WriteString("  " + c.String() + "\n")
		}
	}
	b.WriteString("\nviolations:\n")
	for _, v := range bad {
		b.WriteString("  - " + v + "\n")
	}
	s.t.Log(b.String())
	s.t.Log("the world's executions, oldest first:")
	s.w.dump()
	msg := fmt.Sprintf("soak seed %d failed at event %d (%s):\n  - %s\n%s", s.seed, i, eventLine(s.trace[len(s.trace)-1]), strings.Join(bad, "\n  - "), repro)
	if *soakGoOn {
		s.t.Error(msg)
		s.remember(bad)
		s.failed = append(s.failed, s.trace[len(s.trace)-1]+"\n    - "+strings.Join(bad, "\n    - "))
		return
	}
	s.t.Fatal(msg)
}

func (s *soak) ledgerSummary(sv *soakService) string {
	l, err := s.w.ledger(sv.arn)
	if err != nil {
		return sv.label() + ": " + err.Error()
	}
	var revs, q []string
	for _, r := range l.Revisions {
		revs = append(revs, fmt.Sprintf("%s@%s %s/%s", nameOf(r.Revision), short(r.Digest), r.Status, r.Via))
	}
	for _, x := range l.Quarantined {
		q = append(q, short(x.Digest))
	}
	sort.Strings(q)
	return fmt.Sprintf("%s: [%s] quarantined=[%s]", sv.label(), strings.Join(revs, ", "), strings.Join(q, " "))
}

func (s *soak) remember(bad []string) {
	s.reported = map[string]bool{}
	for _, v := range bad {
		s.reported[v] = true
	}
}

func eventLine(l string) string {
	if i := strings.Index(l, " => "); i > 0 {
		return strings.Join(strings.Fields(l[:i]), " ")
	}
	return l
}

// followers are the services that follow repo:tag, in the soak's order.
func (s *soak) followers(repo, tag string) []*soakService {
	var out []*soakService
	for _, sv := range s.svcs {
		if sv.follows(repo, tag) {
			out = append(out, sv)
		}
	}
	return out
}

// target picks a repository and a tag that some service follows.
func (s *soak) target() (*soakRepo, string) {
	repo := s.repos[s.order[s.rng.Intn(len(s.order))]]
	if repo.name == "web" && s.rng.Intn(4) == 0 {
		return repo, fmt.Sprintf("stage-%d", s.images+1)
	}
	return repo, "latest"
}

// newImage makes a fresh image seed, and its digest; crash: its tasks fail
// to start.
func (s *soak) newImage(crash bool) (seed, digest string) {
	s.images++
	seed = fmt.Sprintf("soak %d image %d", s.seed, s.images)
	digest = digestOf(seed)
	s.seeds[digest] = seed
	if crash {
		s.w.Cloud.ECS().Faults().FailImage(lcecs.ImageFault{Image: digest, Mode: lcecs.FailToStart})
		s.m.crash[digest] = true
	}
	return seed, digest
}

func (s *soak) push(repo *soakRepo, tag, seed string) error {
	digest, err := s.w.Push(s.w.ctx, repo.name, tag, seed)
	if err != nil {
		return err
	}
	if !contains(repo.digests, digest) {
		repo.digests = append(repo.digests, digest)
	}
	if strings.HasPrefix(tag, "stage-") && !contains(repo.stages, tag) {
		repo.stages = append(repo.stages, tag)
	}
	repo.tags[tag] = digest
	return nil
}

func (s *soak) anyService() *soakService { return s.svcs[s.rng.Intn(len(s.svcs))] }

// apply applies one event to the world and the model; it returns the
// event's description and the executions the model expects.
func (s *soak) apply(kind eventKind) (string, []expect) {
	w := s.w
	switch kind {
	case evPush, evCrash, evBakeAlarm, evLateAlarm:
		repo, tag := s.target()
		seed, digest := s.newImage(kind == evCrash)
		fs := s.followers(repo.name, tag)
		what := fmt.Sprintf("%s:%s %s", repo.name, tag, short(digest))
		alarmed := map[*soakService]bool{}
		if kind == evBakeAlarm {
			for _, f := range fs {
				if len(alarmed) == 0 || s.rng.Intn(2) == 0 {
					alarmed[f] = true
				}
			}
			for _, f := range fs {
				if alarmed[f] {
					s.alarmInBake(f, digest)
					what += " alarm " + f.label() + "@bake+" + bakeAlarmAfter.String()
				}
			}
		}
		if err := s.push(repo, tag, seed); err != nil {
			s.t.Fatal(err)
		}
		var exps []expect
		for _, f := range fs {
			exps = append(exps, s.m.deploy(s.mod[f], digest, byPush, false, alarmed[f], "deploy "+short(digest)))
		}
		if kind == evLateAlarm && len(fs) > 0 {
			f := fs[s.rng.Intn(len(fs))]
			if err := s.settle(); err != nil {
				s.t.Fatal(err)
			}
			s.learnNow(exps)
			what += " then alarm " + f.label()
			exps = append(exps, s.fire(f))
		}
		return what, exps
	case evFrozenPush:
		// One follower frozen: its push is SKIPPED "frozen", its model
		// unchanged; the others deploy. Unfrozen once the push settled.
		repo, tag := s.target()
		seed, digest := s.newImage(false)
		fs := s.followers(repo.name, tag)
		what := fmt.Sprintf("%s:%s %s", repo.name, tag, short(digest))
		var frozen *soakService
		if len(fs) > 0 {
			frozen = fs[s.rng.Intn(len(fs))]
			if err := w.freezes().Put(w.ctx, freeze.Freeze{Cluster: frozen.cluster, Service: frozen.arn, Reason: "soak", By: "soak", Since: w.clock.Now()}, w.clock.Now()); err != nil {
				s.t.Fatal(err)
			}
			what += " frozen " + frozen.label()
		}
		if err := s.push(repo, tag, seed); err != nil {
			s.t.Fatal(err)
		}
		var exps []expect
		for _, f := range fs {
			if f == frozen {
				exps = append(exps, expect{svc: s.mod[f], action: "deploy", digest: digest, outcomes: one(history.Skipped), reason: "frozen: soak by soak", what: "frozen push " + short(digest)})
				continue
			}
			exps = append(exps, s.m.deploy(s.mod[f], digest, byPush, false, false, "deploy "+short(digest)))
		}
		if frozen != nil {
			if err := s.settle(); err != nil {
				s.t.Fatal(err)
			}
			s.learnNow(exps)
			if _, err := w.freezes().Delete(w.ctx, frozen.cluster, frozen.arn); err != nil {
				s.t.Fatal(err)
			}
		}
		return what, exps
	case evOutsideAlarm:
		f := s.anyService()
		if err := w.clock.Sleep(w.ctx, soakBake+soakWindow+time.Minute); err != nil {
			s.t.Fatal(err)
		}
		if err := s.settle(); err != nil {
			s.t.Fatal(err)
		}
		return "alarm " + f.label() + " after " + (soakBake + soakWindow + time.Minute).String(), []expect{s.fire(f)}
	case evDuplicate:
		return s.duplicate(), nil
	case evBurst:
		repo, tag := s.target()
		n := 2 + s.rng.Intn(3)
		fs := s.followers(repo.name, tag)
		// Stand at the start of a second, and hold the clock: the pushes
		// land at distinct sub-second times of one second.
		now := w.clock.Now()
		w.clock.Advance(now.Truncate(time.Second).Add(time.Second + 100*time.Millisecond).Sub(now))
		hold := w.clock.Busy()
		before := s.executions()
		var digests []string
		for k := 0; k < n; k++ {
			seed, digest := s.newImage(false)
			if err := s.push(repo, tag, seed); err != nil {
				hold()
				s.t.Fatal(err)
			}
			digests = append(digests, digest)
			if k < n-1 {
				w.clock.Advance(time.Duration(150+s.rng.Intn(100)) * time.Millisecond)
			}
		}
		// Let dispatch start them all before the clock moves on.
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && s.executions()-before < n*len(fs) {
			time.Sleep(5 * time.Millisecond)
		}
		hold()
		var exps []expect
		var shorts []string
		for _, d := range digests {
			shorts = append(shorts, short(d))
		}
		for _, f := range fs {
			for k, d := range digests {
				if k < n-1 {
					exps = append(exps, s.m.superseded(s.mod[f], d, "deploy "+short(d)))
				} else {
					exps = append(exps, s.m.deploy(s.mod[f], d, byPush, false, false, "deploy "+short(d)))
				}
			}
		}
		return fmt.Sprintf("%d pushes %s:%s %s", n, repo.name, tag, strings.Join(shorts, ",")), exps
	case evRetag:
		repo := s.repos[s.order[s.rng.Intn(len(s.order))]]
		tag := "latest"
		if repo.name == "web" && len(repo.stages) > 0 && s.rng.Intn(4) == 0 {
			tag = repo.stages[s.rng.Intn(len(repo.stages))]
		}
		var cands []string
		for _, d := range repo.digests {
			if repo.tags[tag] != d {
				cands = append(cands, d)
			}
		}
		if len(cands) == 0 {
			return "retag: nothing to move " + repo.name + ":" + tag + " to", nil
		}
		digest := cands[s.rng.Intn(len(cands))]
		if err := s.push(repo, tag, s.seeds[digest]); err != nil {
			s.t.Fatal(err)
		}
		var exps []expect
		for _, f := range s.followers(repo.name, tag) {
			exps = append(exps, s.m.deploy(s.mod[f], digest, byPush, false, false, "deploy "+short(digest)))
		}
		return fmt.Sprintf("%s:%s back to %s", repo.name, tag, short(digest)), exps
	case evManualDeploy:
		f := s.anyService()
		ms := s.mod[f]
		repo := s.repos[f.repo]
		cands := repo.digests
		if q := ms.quarantined(); len(q) > 0 && s.rng.Intn(5) < 2 {
			cands = q
		}
		digest := cands[s.rng.Intn(len(cands))]
		force := (ms.quar[digest] && s.rng.Intn(2) == 0) || s.rng.Intn(7) == 0
		in := map[string]any{"action": "deploy", "cluster": f.cluster, "service": f.name, "digest": digest}
		what := fmt.Sprintf("%s digest %s", f.label(), short(digest))
		if force {
			in["force"] = true
			what += " force"
		}
		e := s.m.deploy(ms, digest, byManual, force, false, "manual deploy "+short(digest))
		e.exec = s.start("deploy", f, in)
		return what, []expect{e}
	case evRollback:
		f := s.anyService()
		e := s.m.rollback(s.mod[f])
		e.exec = s.start("rollback", f, map[string]any{"action": "rollback", "cluster": f.cluster, "service": f.name})
		return f.label(), []expect{e}
	case evRedeploy:
		f := s.anyService()
		e := s.m.redeploy(s.mod[f])
		e.exec = s.start("redeploy", f, map[string]any{"action": "redeploy", "cluster": f.cluster, "service": f.name})
		return f.label(), []expect{e}
	case evRelease:
		var withQ []*soakService
		for _, sv := range s.svcs {
			if len(s.mod[sv].quar) > 0 {
				withQ = append(withQ, sv)
			}
		}
		f := withQ[s.rng.Intn(len(withQ))]
		q := s.mod[f].quarantined()
		digest := q[s.rng.Intn(len(q))]
		e := s.m.release(s.mod[f], digest)
		e.exec = s.start("release", f, map[string]any{"action": "release", "cluster": f.cluster, "service": f.name, "digest": digest, "reason": "soak: released"})
		return fmt.Sprintf("%s digest %s", f.label(), short(digest)), []expect{e}
	case evForged:
		f := s.anyService()
		digest := fmt.Sprintf("sha256:%016x%016x%016x%016x", s.rng.Uint64(), s.rng.Uint64(), s.rng.Uint64(), s.rng.Uint64())
		in := map[string]any{
			"action": "deploy", "cluster": f.cluster, "service": f.name, "digest": digest, "trigger": "push",
			"push": map[string]any{"eventId": fmt.Sprintf("forged-%d", s.images), "account": localrun.Account, "region": localrun.Region,
				"repository": f.repo, "tag": "latest", "digest": digest, "time": "2099-01-01T00:00:00Z"},
		}
		e := expect{svc: s.mod[f], action: "deploy", digest: digest, what: "forged push " + short(digest), outcomes: one(history.Failed), reason: "BadInput"}
		e.exec = s.start("forged", f, in)
		return fmt.Sprintf("%s digest %s time 2099", f.label(), short(digest)), []expect{e}
	case evThrottle:
		if s.throttl > 0 {
			s.throttl = 0
			w.Cloud.Faults().Clear()
			return "off", nil
		}
		rate := []float64{0.1, 0.2, 0.3}[s.rng.Intn(3)]
		for _, svc := range []string{"ecs", "dynamodb", "sfn"} {
			w.Cloud.Faults().AddThrottle(localcloud.Throttle{Service: svc, Rate: rate})
		}
		s.throttl = 3 + s.rng.Intn(4)
		return fmt.Sprintf("ecs, dynamodb, sfn at %.0f%% for %d phases", rate*100, s.throttl-1), nil
	}
	return "?", nil
}

// bakeAlarmAfter is how far into its bake a push-alarm-in-bake deploy sees
// its alarm fire.
const bakeAlarmAfter = time.Minute

// alarmInBake fires f's alarm bakeAlarmAfter after f's deploy of digest
// enters its Bake state, however long the deploy took to get there: a
// throttled Step Functions retry backs off on virtual time, and the clock
// jumps to the next timer whenever nothing is busy, so an alarm scheduled
// at a fixed time after the push may fire before the deploy has even
// started (and then roll back the revision before it, or be SKIPPED). The
// watcher runs on the execution's goroutine as it enters Bake, before the
// clock can move on. A deploy that never bakes (SKIPPED, SUPERSEDED) sees
// no alarm, as the model has it. The watcher goes at the end of the phase.
func (s *soak) alarmInBake(f *soakService, digest string) {
	w := s.w
	var once sync.Once
	stop := w.Cloud.StepFunctions().Engine().Watch(func(x *states.Execution, ev states.HistoryEvent) {
		if ev.StateEnteredEventDetails == nil || ev.StateEnteredEventDetails.Name != "Bake" {
			return
		}
		var in contract.ExecutionInput
		if json.Unmarshal(x.Input(), &in) != nil || in.Cluster != f.cluster || in.Service != f.name || in.Push == nil || in.Push.Digest != digest {
			return
		}
		once.Do(func() {
			if _, err := w.Cloud.CloudWatch().SetStateAt(w.ctx, f.alarm, "ALARM", w.clock.Now().Add(bakeAlarmAfter)); err != nil {
				s.t.Errorf("schedule the alarm of %s: %v", f.label(), err)
			}
		})
	})
	s.unwatch = append(s.unwatch, stop)
	s.alarmed = append(s.alarmed, f)
}

// fire sets a service's alarm to ALARM now (no deploy in flight).
func (s *soak) fire(f *soakService) expect {
	if err := s.w.SetAlarm(s.w.ctx, f.alarm, "ALARM"); err != nil {
		s.t.Fatal(err)
	}
	s.alarmed = append(s.alarmed, f)
	return s.m.alarm(s.mod[f], soakWindow)
}

// duplicate delivers the last push event dispatch received again, as
// EventBridge's at-least-once delivery may.
func (s *soak) duplicate() string {
	fn := s.w.Installed.Functions["DispatchFunction"]
	ds := s.w.Cloud.EventBridge().Deliveries()
	for i := len(ds) - 1; i >= 0; i-- {
		d := ds[i]
		if !strings.HasSuffix(d.Arn, ":function:"+fn.Name) || !strings.Contains(string(d.Input), `"ECR Image Action"`) {
			continue
		}
		var ev struct {
			ID     string `json:"id"`
			Detail struct {
				Repo   string `json:"repository-name"`
				Tag    string `json:"image-tag"`
				Digest string `json:"image-digest"`
			} `json:"detail"`
		}
		_ = json.Unmarshal(d.Input, &ev)
		if ev.Detail.Tag == "" || strings.HasPrefix(ev.Detail.Tag, "v0-") {
			continue
		}
		if out := s.w.invokeDispatch(d.Input); out.FunctionError != nil {
			s.t.Fatalf("dispatch of a duplicate failed: %s", out.Payload)
		}
		return fmt.Sprintf("event %s (%s:%s %s)", ev.ID, ev.Detail.Repo, ev.Detail.Tag, short(ev.Detail.Digest))
	}
	return "no push delivered yet"
}

// start starts a manual execution.
func (s *soak) start(kind string, f *soakService, input map[string]any) string {
	s.images++
	return s.w.start(fmt.Sprintf("soak-%s-%s-%s-%d", kind, f.cluster, f.name, s.images), input)
}

func (s *soak) executions() int {
	execs, err := s.w.Executions(s.w.ctx)
	if err != nil {
		return 0
	}
	return len(execs)
}

// settle lets the virtual clock run until no execution runs and nothing is
// left in flight: a virtual second passes (which it does only when nothing
// is busy) with the same executions, none running.
func (s *soak) settle() error {
	prev := -1
	for {
		if _, err := s.w.WaitIdle(s.w.ctx, 0); err != nil {
			return fmt.Errorf("settle: %w", err)
		}
		s.w.Cloud.EventBridge().Flush()
		if err := s.w.clock.Sleep(s.w.ctx, time.Second); err != nil {
			return fmt.Errorf("settle: %w", err)
		}
		execs, err := s.w.Executions(s.w.ctx)
		if err != nil {
			return fmt.Errorf("settle: %w", err)
		}
		running := 0
		for _, e := range execs {
			if e.Status == sfntypes.ExecutionStatusRunning {
				running++
			}
		}
		if running == 0 && len(execs) == prev {
			return nil
		}
		prev = -1
		if running == 0 {
			prev = len(execs)
		}
	}
}

// learnNow matches the records so far against exps to learn the revisions
// they registered (a later step of the same event needs them).
func (s *soak) learnNow(exps []expect) {
	recs := s.newRecords()
	used := map[string]bool{}
	for i := range exps {
		if r, ok := s.match(&exps[i], recs, used); ok {
			s.learn(&exps[i], r)
		}
	}
}

func (s *soak) learn(e *expect, r history.Record) {
	if e.rev == nil || e.rev.arn != "" {
		return
	}
	switch {
	case e.learn == learnTo && r.Outcome == history.Succeeded:
		e.rev.arn = r.ToRevision
		if e.svc.win == e.rev {
			e.svc.winAt = r.FinishedAt
		}
	case e.learn == learnDeployed && r.Outcome == history.RolledBack:
		e.rev.arn = r.DeployedRevision
	}
}

// newRecords are the records of executions no earlier phase checked, by service.
func (s *soak) newRecords() map[*soakService][]history.Record {
	out := map[*soakService][]history.Record{}
	for _, sv := range s.svcs {
		recs := s.w.records(sv.arn)
		for i := len(recs) - 1; i >= 0; i-- {
			if !s.seen[recs[i].ExecutionARN] {
				out[sv] = append(out[sv], recs[i])
			}
		}
	}
	return out
}

// match finds the record an expectation is about: by execution ARN when
// the soak started it, else the oldest unused one of the service with the
// action and digest.
func (s *soak) match(e *expect, recs map[*soakService][]history.Record, used map[string]bool) (history.Record, bool) {
	for _, r := range recs[e.svc.spec] {
		if used[r.ExecutionARN] {
			continue
		}
		if e.exec != "" {
			if r.ExecutionARN == e.exec {
				used[r.ExecutionARN] = true
				return r, true
			}
			continue
		}
		if s.isManual(r.ExecutionARN) || r.Action != e.action || (e.digest != "" && s.digestOf(r) != e.digest) {
			continue
		}
		used[r.ExecutionARN] = true
		return r, true
	}
	return history.Record{}, false
}

// digestOf is the digest an execution was started for, from its input (a
// record superseded before it registered anything names no image).
func (s *soak) digestOf(r history.Record) string {
	if d, ok := s.inputs[r.ExecutionARN]; ok {
		return d
	}
	d := digestOfRecord(r)
	if _, out, err := s.w.Output(s.w.ctx, r.ExecutionARN); err == nil {
		var in struct {
			Digest string `json:"digest"`
		}
		if json.Unmarshal([]byte(aws.ToString(out.Input)), &in) == nil && in.Digest != "" {
			d = in.Digest
		}
		s.inputs[r.ExecutionARN] = d
	}
	return d
}

func (s *soak) isManual(arn string) bool { return strings.Contains(arn, ":soak-") }

// forgetCleaned applies cleanup's rule to the model: the newest
// max(KeepRevisions, 2) good revisions of a service stay; an older good one
// may be deregistered, and the ledger then forgets it, so the model does
// too. One of the kept ones missing from the ledger is a violation.
func (s *soak) forgetCleaned() []string {
	var bad []string
	keep := max(soakKeep, 2)
	for _, sv := range s.svcs {
		ms := s.mod[sv]
		l, err := s.w.ledger(sv.arn)
		if err != nil {
			return []string{err.Error()}
		}
		for i := len(ms.good) - 1; i >= 0; i-- {
			g := ms.good[i]
			if g.arn == "" || !ms.recorded && g == ms.initial {
				continue
			}
			if _, listed := l.Get(g.arn); listed {
				continue
			}
			if len(ms.good)-i <= keep {
				bad = append(bad, fmt.Sprintf("%s: the ledger lost %s, one of the newest %d good revisions cleanup keeps", sv.label(), g, keep))
				continue
			}
			ms.dropGood(g)
		}
	}
	return bad
}

// raceLost: an alarm that fired while a deploy was starting (its plan
// delayed by throttling) may start a rollback that then finds the deploy
// holding the service (SKIPPED, deploy-in-flight) or is overtaken by it
// (SUPERSEDED, the newer execution wins); either leaves the service to the
// deploy, which watches the alarm itself, and changes nothing.
func raceLost(r history.Record) bool {
	return r.Trigger == "alarm" && (r.Outcome == history.Superseded ||
		r.Outcome == history.Skipped && strings.Contains(r.Reason, "deploy-in-flight"))
}

// burnIncident marks the culprit of an alarm execution's input as alarmed
// in the model.
func (s *soak) burnIncident(ms *mService, r history.Record) {
	_, out, err := s.w.Output(s.w.ctx, r.ExecutionARN)
	if err != nil {
		return
	}
	var in contract.ExecutionInput
	if json.Unmarshal([]byte(aws.ToString(out.Input)), &in) != nil || in.Alarm == nil {
		return
	}
	for _, rev := range ms.revs {
		if rev.arn != "" && rev.arn == in.Alarm.TaskDefinitionArn {
			rev.incident = true
		}
	}
}

// check checks every invariant after a phase.
func (s *soak) check(exps []expect) []string {
	w := s.w
	var bad []string
	badf := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }

	execs, err := w.Executions(w.ctx)
	if err != nil {
		return []string{err.Error()}
	}
	// Exactly one terminal record per execution, over all services.
	count := map[string]int{}
	all := map[*soakService][]history.Record{}
	for _, sv := range s.svcs {
		all[sv] = s.w.records(sv.arn)
		for _, r := range all[sv] {
			count[r.ExecutionARN]++
		}
	}
	known := map[string]bool{}
	for _, e := range execs {
		arn := aws.ToString(e.ExecutionArn)
		known[arn] = true
		if e.Status == sfntypes.ExecutionStatusRunning {
			badf("execution %s still RUNNING", aws.ToString(e.Name))
		}
		if count[arn] != 1 {
			badf("execution %s (%s) has %d terminal records, want 1", aws.ToString(e.Name), e.Status, count[arn])
		}
	}
	for arn := range count {
		if !known[arn] {
			badf("record of an unknown execution %s", arn)
		}
	}

	// The phase's executions against the model's expectations.
	recs := s.newRecords()
	used := map[string]bool{}
	for i := range exps {
		e := &exps[i]
		r, ok := s.match(e, recs, used)
		if !ok && e.optional {
			continue
		}
		if !ok {
			badf("missing execution: %s", e)
			continue
		}
		s.learn(e, r)
		okOutcome := false
		for _, o := range e.outcomes {
			okOutcome = okOutcome || r.Outcome == o
		}
		if !okOutcome {
			badf("%s: ended %s (%s)", e, r.Outcome, r.Reason)
			continue
		}
		if e.reason != "" && !strings.Contains(r.Reason, e.reason) {
			badf("%s: reason %q does not contain %q", e, r.Reason, e.reason)
		}
		if e.toRev != nil && e.toRev.arn != "" && r.ToRevision != e.toRev.arn {
			badf("%s: record's toRevision is %s", e, r.ToRevision)
		}
	}
	for _, sv := range s.svcs {
		for _, r := range recs[sv] {
			if !used[r.ExecutionARN] && raceLost(r) {
				// Its name, the incident of (service, culprit), is taken:
				// a later alarm on that revision starts nothing.
				s.burnIncident(s.mod[sv], r)
				continue
			}
			if !used[r.ExecutionARN] {
				badf("unexpected execution on %s: %s %s/%s of %s ended %s (%s)", sv.label(), r.Action, r.Trigger, nameOf(r.ExecutionARN), short(s.digestOf(r)), r.Outcome, r.Reason)
			}
		}
	}
	for _, e := range execs {
		s.seen[aws.ToString(e.ExecutionArn)] = true
	}

	api := ecs.NewFromConfig(w.Config)
	for _, sv := range s.svcs {
		ms := s.mod[sv]
		if l, err := w.Lease(w.ctx, sv.arn); err != nil {
			badf("lease of %s: %v", sv.label(), err)
		} else if l.Held(w.clock.Now()) {
			badf("lease of %s still held by %s", sv.label(), l.Holder)
		}
		td, images, err := w.Running(w.ctx, sv.cluster, sv.name)
		if err != nil {
			badf("describe %s: %v", sv.label(), err)
			continue
		}
		running := images["app"][strings.LastIndex(images["app"], "@")+1:]
		if running != ms.cur.digest {
			badf("%s runs %s (%s), model says %s", sv.label(), short(running), nameOf(td), ms.cur)
		} else if ms.cur.arn == "" {
			ms.cur.arn = td
		} else if td != ms.cur.arn {
			badf("%s runs revision %s, model says %s", sv.label(), nameOf(td), ms.cur)
		}
		l, err := w.ledger(sv.arn)
		if err != nil {
			badf("ledger of %s: %v", sv.label(), err)
			continue
		}
		var prodQ []string
		for _, q := range l.Quarantined {
			prodQ = append(prodQ, q.Digest)
		}
		sort.Strings(prodQ)
		if fmt.Sprint(shorts(prodQ)) != fmt.Sprint(shorts(ms.quarantined())) {
			badf("%s: product quarantines %v, model %v", sv.label(), shorts(prodQ), shorts(ms.quarantined()))
		}
		if _, q := l.Quarantine(running); q {
			badf("%s runs the quarantined digest %s", sv.label(), short(running))
		}
		// This phase's rollbacks (an older one's target may have turned bad since).
		for _, r := range recs[sv] {
			if r.Outcome == history.RolledBack && r.ToRevision != "" && l.IsBad(r.ToRevision) {
				badf("%s: %s rolled back to %s, which the ledger marks bad", sv.label(), nameOf(r.ExecutionARN), nameOf(r.ToRevision))
			}
		}
		if want := ms.newestGood(); want != nil && want.arn != "" {
			if got, ok := l.LastGood(); !ok || got.Revision != want.arn {
				badf("%s: ledger's last good is %s, model says %s", sv.label(), nameOf(got.Revision), want)
			}
		}
		active := []string{td}
		for _, r := range l.Revisions {
			if r.Status == ledgerGood {
				active = append(active, r.Revision)
			}
		}
		// And where a rollback would go next.
		if next := ms.target(ms.cur); next != nil && next.arn != "" {
			active = append(active, next.arn)
		}
		checked := map[string]bool{}
		for _, rev := range active {
			if checked[rev] {
				continue
			}
			checked[rev] = true
			out, err := api.DescribeTaskDefinition(w.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(rev)})
			if err != nil {
				badf("%s: describe %s: %v", sv.label(), nameOf(rev), err)
			} else if out.TaskDefinition.Status != ecstypes.TaskDefinitionStatusActive {
				badf("%s: revision %s (%s) is %s", sv.label(), nameOf(rev), s.standing(ms, l, rev, td), out.TaskDefinition.Status)
			}
		}
	}
	// Revisions the model holds bad must be bad in the ledger (or gone
	// from it: it keeps its newest ledger.MaxRevisions entries).
	for _, sv := range s.svcs {
		l, err := w.ledger(sv.arn)
		if err != nil {
			continue
		}
		for _, r := range s.badRevs(s.mod[sv]) {
			if g, listed := l.Get(r.arn); listed && g.Status != ledger.StatusBad {
				badf("%s: the ledger holds %s %s, the model bad", sv.label(), r, g.Status)
			}
		}
	}
	return bad
}

// standing says why a revision must be ACTIVE: current, the next rollback
// target, or the ledger's n-th newest good revision.
func (s *soak) standing(ms *mService, l soakLedger, rev, current string) string {
	var why []string
	if rev == current {
		why = append(why, "current")
	}
	if next := ms.target(ms.cur); next != nil && next.arn == rev {
		why = append(why, "the next rollback target")
	}
	for i, g := range l.GoodNewest(len(l.Revisions)) {
		if g == rev {
			why = append(why, fmt.Sprintf("the ledger's newest good #%d", i+1))
		}
	}
	return strings.Join(why, ", ")
}

func (s *soak) badRevs(ms *mService) []*mRev {
	var out []*mRev
	for _, r := range ms.revs {
		if r.bad && r.arn != "" {
			out = append(out, r)
		}
	}
	return out
}

func shorts(ds []string) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, short(d))
	}
	return out
}

func nameOf(arn string) string {
	if arn == "" {
		return "-"
	}
	return arn[strings.LastIndex(arn, "/")+1:]
}
