package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
)

const faultUsage = `usage: pushdeploy localcloud fault <kind> [flags] [--endpoint-url URL]

Injects a fault into a running local cloud (--endpoint-url, default
$AWS_ENDPOINT_URL) through its control API. Faults last until cleared.

  image    --image URI|sha256:... --mode fail-to-start|fail-health-check [--reason TEXT]
           tasks of task definitions running the image crash, or fail health checks
  throttle --operation ecs:UpdateService --rate 0.5 [--limit N]
           a share of the calls fail with ThrottlingException (service:* or service for all)
  latency  --operation ecs:UpdateService --delay 30s
           calls wait that long on the cloud's clock before they are served
  rollout  --duration 10m [--service NAME|ARN]
           how long a healthy ECS rollout takes from now on
  clear    removes every fault above
`

const clockUsage = `usage: pushdeploy localcloud clock advance DURATION | now [--endpoint-url URL]

'now' prints the local cloud's time (RFC 3339). 'advance' moves a virtual
clock (localcloud --clock virtual) forward, firing every timer on the way and
letting the work each one wakes finish (a rollout's ticks, a bake's end, the
functions they invoke), and prints the new time once the world has settled.
`

// controlExitsHelp is the exit codes' help of the fault and clock commands.
const controlExitsHelp = `Exit codes:
  0    done
  2    usage error, or the local cloud refused the request (the reason is printed)
  5    the local cloud could not be reached
`

// controlClient calls the control API of the local cloud at endpoint.
type controlClient struct {
	endpoint string
	http     *http.Client
}

func newControlClient(endpoint string) (*controlClient, error) {
	if endpoint == "" {
		return nil, badInput("no local cloud: use --endpoint-url or set %s", envEndpoint)
	}
	return &controlClient{endpoint: strings.TrimSuffix(endpoint, "/"), http: &http.Client{}}, nil
}

// controlRefused is an answer of the control API that refused the request.
type controlRefused struct {
	status int
	msg    string
}

func (e *controlRefused) Error() string { return e.msg }

func (c *controlClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		p, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(p)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint+strings.TrimSuffix(localcloud.ControlPrefix, "/")+path, body)
	if err != nil {
		return badInput("endpoint %q: %v", c.endpoint, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("reach the local cloud at %s: %w", c.endpoint, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	p, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read the local cloud's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e localcloud.ControlError
		if json.Unmarshal(p, &e) != nil || e.Error == "" {
			return fmt.Errorf("%s %s: HTTP %d: is %s a local cloud?", method, path, resp.StatusCode, c.endpoint)
		}
		refused := &controlRefused{status: resp.StatusCode, msg: e.Error}
		if resp.StatusCode < 500 {
			return &exitError{code: exitBadInput, err: refused}
		}
		return refused
	}
	if out != nil {
		if err := json.Unmarshal(p, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// runFault is `pushdeploy localcloud fault KIND`.
func runFault(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) == 0 {
			fmt.Fprint(stderr, faultUsage)
			return exitBadInput
		}
		fmt.Fprint(stdout, faultUsage)
		return exitOK
	}
	kind, args := args[0], args[1:]
	name := "localcloud fault " + kind
	var aws awsFlags
	var c *cliCommand
	newCmd := func(synopsis, about string) {
		c = newCLICommand(name, synopsis, about, stdout, stderr)
		c.exits = controlExitsHelp
		c.fs.StringVar(&aws.endpoint, "endpoint-url", "", "the local cloud (default: $AWS_ENDPOINT_URL)")
	}
	var path string
	var body any
	var done func() string
	switch kind {
	case "image":
		newCmd("--image URI --mode fail-to-start|fail-health-check", "Makes the tasks of every task definition that runs the image (a whole image URI, or a digest sha256:...) fail.")
		in := &localcloud.ImageFaultRequest{}
		c.fs.StringVar(&in.Image, "image", "", "image URI as task definitions name it, or sha256:<64 hex>")
		c.fs.StringVar(&in.Mode, "mode", "", "fail-to-start or fail-health-check")
		c.fs.StringVar(&in.Reason, "reason", "", "the tasks' stoppedReason (default: ECS's)")
		path, body = "/faults/image", in
		done = func() string {
			return fmt.Sprintf("tasks of %s will %s", in.Image, strings.ReplaceAll(in.Mode, "-", " "))
		}
		if _, code, stop := c.parse(args, 0); stop {
			return code
		}
		if err := required("image", in.Image, "mode", in.Mode); err != nil {
			return c.usageError("%v", err)
		}
		if _, ok := localcloud.FailModes[in.Mode]; !ok {
			return c.usageError("--mode is fail-to-start or fail-health-check, not %q", in.Mode)
		}
	case "throttle":
		newCmd("--operation SERVICE:OPERATION --rate R", "Fails a share R (0 < R <= 1) of the calls to the operation with ThrottlingException, spread evenly: 0.5 fails every second call. SERVICE alone, or SERVICE:*, is every operation of it.")
		in := &localcloud.ThrottleRequest{}
		c.fs.StringVar(&in.Operation, "operation", "", "service:Operation, e.g. ecs:UpdateService")
		c.fs.Float64Var(&in.Rate, "rate", 0, "share of calls throttled, 0 < rate <= 1")
		c.fs.IntVar(&in.Limit, "limit", 0, "stop after this many throttled calls (default: no limit)")
		path, body = "/faults/throttle", in
		done = func() string { return fmt.Sprintf("throttling %g%% of %s calls", in.Rate*100, in.Operation) }
		if _, code, stop := c.parse(args, 0); stop {
			return code
		}
		if err := required("operation", in.Operation); err != nil {
			return c.usageError("%v", err)
		}
		if in.Rate <= 0 || in.Rate > 1 {
			return c.usageError("--rate must be in (0, 1], not %g", in.Rate)
		}
	case "latency":
		newCmd("--operation SERVICE:OPERATION --delay D", "Delays every call to the operation by D of the local cloud's clock before it is served.")
		in := &localcloud.LatencyRequest{}
		c.fs.StringVar(&in.Operation, "operation", "", "service:Operation, e.g. ecs:UpdateService")
		delay := c.fs.Duration("delay", 0, "added latency, e.g. 30s")
		path, body = "/faults/latency", in
		done = func() string { return fmt.Sprintf("delaying %s calls by %s", in.Operation, in.Delay) }
		if _, code, stop := c.parse(args, 0); stop {
			return code
		}
		if err := required("operation", in.Operation); err != nil {
			return c.usageError("%v", err)
		}
		if *delay <= 0 {
			return c.usageError("--delay must be positive")
		}
		in.Delay = delay.String()
	case "rollout":
		newCmd("--duration D [--service NAME|ARN]", "Sets how long a healthy ECS rollout takes, for deployments that start from now on.")
		in := &localcloud.RolloutRequest{}
		c.fs.StringVar(&in.Service, "service", "", "one service, by name or ARN (default: every service)")
		duration := c.fs.Duration("duration", 0, "rollout duration, e.g. 10m")
		path, body = "/faults/rollout", in
		done = func() string {
			if in.Service == "" {
				return "healthy rollouts take " + in.Duration
			}
			return fmt.Sprintf("healthy rollouts of %s take %s", in.Service, in.Duration)
		}
		if _, code, stop := c.parse(args, 0); stop {
			return code
		}
		if *duration <= 0 {
			return c.usageError("--duration must be positive")
		}
		in.Duration = duration.String()
	case "clear":
		newCmd("", "Removes every fault: image faults, throttling, latency, rollout durations.")
		if _, code, stop := c.parse(args, 0); stop {
			return code
		}
		client, err := newControlClient(aws.endpointURL())
		if err == nil {
			err = client.do(ctx, http.MethodDelete, "/faults", nil, nil)
		}
		if err != nil {
			return c.fail(err)
		}
		fmt.Fprintln(stdout, "faults cleared")
		return exitOK
	default:
		fmt.Fprintf(stderr, "pushdeploy: localcloud fault: unknown fault %q (want image, throttle, latency, rollout or clear; see 'pushdeploy localcloud fault --help')\n", kind)
		return exitBadInput
	}
	client, err := newControlClient(aws.endpointURL())
	if err == nil {
		err = client.do(ctx, http.MethodPost, path, body, nil)
	}
	if err != nil {
		return c.fail(err)
	}
	fmt.Fprintln(stdout, done())
	return exitOK
}

// runClock is `pushdeploy localcloud clock advance D | now`.
func runClock(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("localcloud clock", "advance DURATION | now", clockUsage[strings.Index(clockUsage, "\n\n")+2:], stdout, stderr)
	c.exits = controlExitsHelp
	var aws awsFlags
	c.fs.StringVar(&aws.endpoint, "endpoint-url", "", "the local cloud (default: $AWS_ENDPOINT_URL)")
	pos, code, stop := c.parse(args, 2)
	if stop {
		return code
	}
	var state localcloud.ClockState
	switch {
	case len(pos) == 1 && pos[0] == "now":
		client, err := newControlClient(aws.endpointURL())
		if err == nil {
			err = client.do(ctx, http.MethodGet, "/clock", nil, &state)
		}
		if err != nil {
			return c.fail(err)
		}
	case len(pos) == 2 && pos[0] == "advance":
		d, err := time.ParseDuration(pos[1])
		if err != nil || d <= 0 {
			return c.usageError("advance takes a positive duration such as 10m, not %q", pos[1])
		}
		client, err := newControlClient(aws.endpointURL())
		if err == nil {
			err = client.do(ctx, http.MethodPost, "/clock/advance", localcloud.AdvanceRequest{Duration: d.String()}, &state)
		}
		if err != nil {
			return c.fail(err)
		}
	default:
		return c.usageError("want 'advance DURATION' or 'now'")
	}
	fmt.Fprintln(stdout, state.Now.UTC().Format(time.RFC3339))
	return exitOK
}

const alarmUsage = `usage: pushdeploy localcloud alarm set NAME --state ALARM|OK|INSUFFICIENT_DATA [--in 5m] [--for 10m] [--reason TEXT]

Schedules an alarm's state change on a running local cloud's clock
(--endpoint-url, default $AWS_ENDPOINT_URL): in --in from now (at once by
default), back to OK after --for when given. On --clock virtual it happens
when 'pushdeploy localcloud clock advance' reaches it, as CloudWatch would
move it: EventBridge gets the state change and pushdeploy reacts.
`

// runAlarm is `pushdeploy localcloud alarm set NAME --state S [--in D] [--for D]`.
func runAlarm(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) == 0 {
			fmt.Fprint(stderr, alarmUsage)
			return exitBadInput
		}
		fmt.Fprint(stdout, alarmUsage)
		return exitOK
	}
	if args[0] != "set" {
		fmt.Fprintf(stderr, "pushdeploy: localcloud alarm: unknown subcommand %q (want set; see 'pushdeploy localcloud alarm --help')\n", args[0])
		return exitBadInput
	}
	c := newCLICommand("localcloud alarm set", "NAME --state ALARM|OK|INSUFFICIENT_DATA [--in 5m] [--for 10m] [--reason TEXT]",
		alarmUsage[strings.Index(alarmUsage, "\n\n")+2:], stdout, stderr)
	c.exits = controlExitsHelp
	var aws awsFlags
	c.fs.StringVar(&aws.endpoint, "endpoint-url", "", "the local cloud (default: $AWS_ENDPOINT_URL)")
	state := c.fs.String("state", "", "the state: ALARM, OK or INSUFFICIENT_DATA")
	in := c.fs.Duration("in", 0, "how long from now on the cloud's clock (default: at once)")
	window := c.fs.Duration("for", 0, "back to OK after this long (default: stays)")
	reason := c.fs.String("reason", "", "the state reason (default: the local cloud's)")
	pos, code, stop := c.parse(args[1:], 1)
	if stop {
		return code
	}
	switch {
	case len(pos) != 1:
		return c.usageError("want one alarm NAME")
	case *state != "ALARM" && *state != "OK" && *state != "INSUFFICIENT_DATA":
		return c.usageError("--state is ALARM, OK or INSUFFICIENT_DATA, not %q", *state)
	case *in < 0:
		return c.usageError("--in must not be negative")
	case *window < 0:
		return c.usageError("--for must be positive")
	}
	req := localcloud.AlarmStateRequest{Alarm: pos[0], State: *state, Reason: *reason}
	if *in > 0 {
		req.In = in.String()
	}
	if *window > 0 {
		req.For = window.String()
	}
	var out localcloud.AlarmStateScheduled
	client, err := newControlClient(aws.endpointURL())
	if err == nil {
		err = client.do(ctx, http.MethodPost, "/alarms/state", req, &out)
	}
	if err != nil {
		return c.fail(err)
	}
	line := fmt.Sprintf("alarm %s goes to %s at %s", out.Alarm, out.State, out.At.UTC().Format(time.RFC3339))
	if out.Until != nil {
		line += ", back to OK at " + out.Until.UTC().Format(time.RFC3339)
	}
	fmt.Fprintln(stdout, line)
	return exitOK
}
