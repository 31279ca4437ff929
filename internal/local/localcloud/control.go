package localcloud

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/cloudwatch"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecs"
)

// ControlPrefix is the reserved path of the control API: faults and the
// clock, driven from outside the process (README, "The local cloud"). No
// AWS API lives under it.
const ControlPrefix = "/_localcloud/"

// The control API's bodies, JSON in and out. Durations are Go durations
// ("90s", "10m").
type (
	// ClockState answers GET /_localcloud/clock and POST /_localcloud/clock/advance.
	ClockState struct {
		Now     time.Time `json:"now"`
		Virtual bool      `json:"virtual"` // time moves only through /clock/advance
	}
	// AdvanceRequest is POST /_localcloud/clock/advance.
	AdvanceRequest struct {
		Duration string `json:"duration"`
	}
	// ImageFaultRequest is POST /_localcloud/faults/image.
	ImageFaultRequest struct {
		Image    string `json:"image"` // an image URI as task definitions name it, or a digest sha256:...
		Mode     string `json:"mode"`  // fail-to-start or fail-health-check
		Reason   string `json:"reason,omitempty"`
		ExitCode int    `json:"exitCode,omitempty"`
	}
	// ThrottleRequest is POST /_localcloud/faults/throttle.
	ThrottleRequest struct {
		Operation string  `json:"operation"` // service:Operation, or service for all of its operations
		Rate      float64 `json:"rate"`
		Limit     int     `json:"limit,omitempty"`
	}
	// LatencyRequest is POST /_localcloud/faults/latency.
	LatencyRequest struct {
		Operation string `json:"operation"`
		Delay     string `json:"delay"`
	}
	// RolloutRequest is POST /_localcloud/faults/rollout.
	RolloutRequest struct {
		Service  string `json:"service,omitempty"` // name or ARN; empty for every service
		Duration string `json:"duration"`
	}
	// AlarmStateRequest is POST /_localcloud/alarms/state: alarm goes to
	// state in In (now when empty) on the cloud's clock, and back to OK
	// after For when set.
	AlarmStateRequest struct {
		Alarm  string `json:"alarm"`
		State  string `json:"state"` // OK, ALARM or INSUFFICIENT_DATA
		In     string `json:"in,omitempty"`
		For    string `json:"for,omitempty"`
		Reason string `json:"reason,omitempty"`
	}
	// AlarmStateScheduled answers it: when the change happens (and ends).
	AlarmStateScheduled struct {
		Alarm string     `json:"alarm"`
		State string     `json:"state"`
		At    time.Time  `json:"at"`
		Until *time.Time `json:"until,omitempty"`
	}
	// RealismRequest is POST /_localcloud/realism: "documented" turns the
	// realism mode on (AWS's documented throttling, buckets full), "off"
	// turns it off; Observers are access keys left unthrottled.
	RealismRequest struct {
		Mode      string   `json:"mode"`
		Observers []string `json:"observers,omitempty"`
	}
	// ControlError is the body of every refused control request.
	ControlError struct {
		Error string `json:"error"`
	}
)

// FailModes names the ECS image fault modes on the control API.
var FailModes = map[string]ecs.FailMode{"fail-to-start": ecs.FailToStart, "fail-health-check": ecs.FailHealthCheck}

// control serves the control API of a Cloud.
type control struct {
	c *Cloud

	mu      sync.Mutex
	info    map[string]string
	running bool // an advance is in progress
}

func (k *control) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + strings.TrimPrefix(r.URL.Path, strings.TrimSuffix(ControlPrefix, "/"))
	switch route {
	case "GET /info":
		k.mu.Lock()
		info := k.info
		k.mu.Unlock()
		writeControl(w, http.StatusOK, info)
	case "GET /clock":
		writeControl(w, http.StatusOK, k.clockState())
	case "POST /clock/advance":
		k.advance(w, r)
	case "POST /faults/image":
		var in ImageFaultRequest
		if !readControl(w, r, &in) {
			return
		}
		mode, ok := FailModes[in.Mode]
		if in.Image == "" || !ok {
			controlError(w, http.StatusBadRequest, "want an image and a mode, fail-to-start or fail-health-check")
			return
		}
		k.c.ecs.Faults().FailImage(ecs.ImageFault{Image: in.Image, Mode: mode, Reason: in.Reason, ExitCode: in.ExitCode})
		writeControl(w, http.StatusOK, in)
	case "POST /faults/throttle":
		var in ThrottleRequest
		if !readControl(w, r, &in) {
			return
		}
		svc, op, err := splitOperation(in.Operation)
		if err == nil && (in.Rate <= 0 || in.Rate > 1) {
			err = fmt.Errorf("rate %g is not in (0, 1]", in.Rate)
		}
		if err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
		k.c.Faults().AddThrottle(Throttle{Service: svc, Operation: op, Rate: in.Rate, Limit: in.Limit})
		writeControl(w, http.StatusOK, in)
	case "POST /faults/latency":
		var in LatencyRequest
		if !readControl(w, r, &in) {
			return
		}
		svc, op, err := splitOperation(in.Operation)
		d, derr := parsePositive(in.Delay)
		if err == nil {
			err = derr
		}
		if err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
		k.c.Faults().AddLatency(Latency{Service: svc, Operation: op, Delay: d})
		writeControl(w, http.StatusOK, in)
	case "POST /faults/rollout":
		var in RolloutRequest
		if !readControl(w, r, &in) {
			return
		}
		d, err := parsePositive(in.Duration)
		if err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
		k.c.ecs.Faults().SetRolloutDuration(in.Service, d)
		writeControl(w, http.StatusOK, in)
	case "POST /alarms/state":
		k.alarmState(w, r)
	case "POST /realism":
		var in RealismRequest
		if !readControl(w, r, &in) {
			return
		}
		switch in.Mode {
		case "documented":
			rl := DocumentedRealism()
			rl.Observers = in.Observers
			k.c.Server.SetRealism(rl)
		case "off":
			k.c.Server.SetRealism(nil)
		default:
			controlError(w, http.StatusBadRequest, fmt.Sprintf("mode %q: want documented or off", in.Mode))
			return
		}
		writeControl(w, http.StatusOK, in)
	case "DELETE /faults":
		k.c.Faults().Clear()
		k.c.ecs.Faults().Clear()
		writeControl(w, http.StatusOK, struct{}{})
	default:
		controlError(w, http.StatusNotFound, "no control API at "+r.Method+" "+r.URL.Path)
	}
}

// alarmState schedules an alarm's state change on the cloud's clock (on a
// virtual clock it happens when an advance reaches it).
func (k *control) alarmState(w http.ResponseWriter, r *http.Request) {
	var in AlarmStateRequest
	if !readControl(w, r, &in) {
		return
	}
	var after, length time.Duration
	var err error
	if in.In != "" {
		if after, err = time.ParseDuration(in.In); err == nil && after < 0 {
			err = fmt.Errorf("in %q is negative", in.In)
		}
	}
	if err == nil && in.For != "" {
		length, err = parsePositive(in.For)
	}
	if err == nil && in.Alarm == "" {
		err = fmt.Errorf("want an alarm name")
	}
	if err != nil {
		controlError(w, http.StatusBadRequest, err.Error())
		return
	}
	now := k.c.clock.Now().UTC()
	if _, err := k.c.cloudwatch.Apply(r.Context(), cloudwatch.Scenario{Alarm: in.Alarm, State: in.State, After: after, For: length, Reason: in.Reason}); err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, cloudwatch.ErrNoAlarm) {
			status = http.StatusNotFound
		}
		controlError(w, status, err.Error())
		return
	}
	out := AlarmStateScheduled{Alarm: in.Alarm, State: in.State, At: now.Add(after)}
	if length > 0 {
		until := out.At.Add(length)
		out.Until = &until
	}
	writeControl(w, http.StatusOK, out)
}

func (k *control) clockState() ClockState {
	_, virtual := k.c.clock.(*clock.Virtual)
	return ClockState{Now: k.c.clock.Now().UTC(), Virtual: virtual}
}

// advance runs a virtual clock forward, letting the work each timer wakes
// finish before the next fires, and answers once the world has settled.
func (k *control) advance(w http.ResponseWriter, r *http.Request) {
	var in AdvanceRequest
	if !readControl(w, r, &in) {
		return
	}
	d, err := parsePositive(in.Duration)
	if err != nil {
		controlError(w, http.StatusBadRequest, err.Error())
		return
	}
	v, ok := k.c.clock.(*clock.Virtual)
	if !ok {
		controlError(w, http.StatusConflict, "the clock is not virtual: start the local cloud with --clock virtual")
		return
	}
	k.mu.Lock()
	if k.running {
		k.mu.Unlock()
		controlError(w, http.StatusConflict, "another advance is in progress")
		return
	}
	k.running = true
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		k.running = false
		k.mu.Unlock()
	}()
	if _, err := v.Run(r.Context(), d, 0); err != nil {
		controlError(w, http.StatusServiceUnavailable, "advance stopped: "+err.Error())
		return
	}
	writeControl(w, http.StatusOK, k.clockState())
}

// splitOperation reads "ecs:UpdateService" (or "ecs", every operation).
func splitOperation(s string) (service, op string, err error) {
	service, op, _ = strings.Cut(s, ":")
	if service == "" || strings.ContainsAny(service, " /") {
		return "", "", fmt.Errorf("operation %q: want service:Operation, e.g. ecs:UpdateService", s)
	}
	if op == "*" {
		op = ""
	}
	return service, op, nil
}

func parsePositive(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: %v", s, err)
	}
	if d <= 0 {
		return 0, fmt.Errorf("duration %q is not positive", s)
	}
	return d, nil
}

func readControl(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		controlError(w, http.StatusBadRequest, "body: "+err.Error())
		return false
	}
	return true
}

func writeControl(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func controlError(w http.ResponseWriter, status int, msg string) {
	writeControl(w, status, ControlError{Error: msg})
}
