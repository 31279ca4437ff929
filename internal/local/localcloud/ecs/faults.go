package ecs

import (
	"strings"
	"sync"
	"time"
)

// FailMode is how tasks of a faulty image fail.
type FailMode int

const (
	// FailToStart: tasks stop before they reach RUNNING.
	FailToStart FailMode = iota
	// FailHealthCheck: tasks reach RUNNING, then fail their container health
	// checks and are stopped.
	FailHealthCheck
)

// ImageFault makes the tasks of every task definition that runs Image fail.
type ImageFault struct {
	// Image is matched against each container's image: equal to it, or, for
	// a digest ("sha256:..."), the image pinned to that digest.
	Image    string
	Mode     FailMode
	ExitCode int    // of the essential container; 1 when zero
	Reason   string // stoppedReason; a sensible default when empty
}

// Faults holds the ECS faults. The zero value is not usable; get it from
// Service.Faults.
type Faults struct {
	mu        sync.Mutex
	images    []ImageFault
	durations map[string]time.Duration // by service name or ARN; "" for all
	denies    []denyRule
}

type denyRule struct{ op, resource string }

func newFaults() *Faults { return &Faults{durations: map[string]time.Duration{}} }

// FailImage makes tasks running the image fail as the fault says.
func (f *Faults) FailImage(fault ImageFault) {
	if fault.ExitCode == 0 {
		fault.ExitCode = 1
	}
	if fault.Reason == "" {
		if fault.Mode == FailHealthCheck {
			fault.Reason = "Task failed container health checks"
		} else {
			fault.Reason = "Essential container in task exited"
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.images = append(f.images, fault)
}

// SetRolloutDuration sets how long a healthy rollout of the service (name or
// ARN) takes; service "" sets it for every service.
func (f *Faults) SetRolloutDuration(service string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.durations[service] = d
}

// Deny makes calls to operation (e.g. "UpdateService") on resource (an ARN
// or a name; "" for any) fail with AccessDeniedException.
func (f *Faults) Deny(operation, resource string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.denies = append(f.denies, denyRule{operation, resource})
}

// Clear removes every ECS fault.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.images, f.denies = nil, nil
	f.durations = map[string]time.Duration{}
}

// imageFault returns the fault that applies to any of the images.
func (f *Faults) imageFault(images []string) (ImageFault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fault := range f.images {
		for _, img := range images {
			if img == fault.Image || (strings.HasPrefix(fault.Image, "sha256:") && strings.HasSuffix(img, "@"+fault.Image)) {
				return fault, true
			}
		}
	}
	return ImageFault{}, false
}

func (f *Faults) rolloutDuration(name, arn string, fallback time.Duration) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range []string{arn, name, ""} {
		if d, ok := f.durations[k]; ok && d > 0 {
			return d
		}
	}
	return fallback
}

func (f *Faults) denied(op, resource string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.denies {
		if d.op != op {
			continue
		}
		if d.resource == "" || d.resource == resource || strings.HasSuffix(resource, "/"+d.resource) {
			return true
		}
	}
	return false
}
