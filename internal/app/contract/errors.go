package contract

import (
	"fmt"
	"time"
)

// BadInput: a malformed event or execution input. Nothing changed.
type BadInput struct {
	Field  string
	Reason string
}

func (e *BadInput) Error() string { return fmt.Sprintf("bad input: %s: %s", e.Field, e.Reason) }

// ServiceNotFound: the cluster or service does not exist or is not active.
type ServiceNotFound struct {
	Cluster, Service string
	Err              error
}

func (e *ServiceNotFound) Error() string {
	msg := fmt.Sprintf("service %s not found in cluster %s", e.Service, e.Cluster)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}
func (e *ServiceNotFound) Unwrap() error { return e.Err }

// ContainerNotFound: a container to update is not in the task definition.
type ContainerNotFound struct {
	TaskDefinition string
	Container      string
}

func (e *ContainerNotFound) Error() string {
	return fmt.Sprintf("container %q not found in task definition %s", e.Container, e.TaskDefinition)
}

// RegistryNotAllowed: the image's registry or account is not allowed.
type RegistryNotAllowed struct {
	Image    string
	Registry string
}

func (e *RegistryNotAllowed) Error() string {
	return fmt.Sprintf("image %s: registry %s is not allowed", e.Image, e.Registry)
}

// WrongFamily: a rollback revision belongs to another task definition family.
type WrongFamily struct {
	Revision string
	Family   string // the service's family
}

func (e *WrongFamily) Error() string {
	return fmt.Sprintf("revision %s is not of the service's family %s", e.Revision, e.Family)
}

// UnsupportedDeploymentController: the service is deployed by CodeDeploy or
// an external controller, which UpdateService cannot drive; pushdeploy
// refuses it before anything changes.
type UnsupportedDeploymentController struct {
	Service    string
	Controller string // CODE_DEPLOY, EXTERNAL
}

func (e *UnsupportedDeploymentController) Error() string {
	return fmt.Sprintf("service %s uses the %s deployment controller: pushdeploy deploys only services on the ECS controller (deploymentController ECS)", e.Service, e.Controller)
}

// ImageNotFound: a tag or digest that the repository does not hold.
type ImageNotFound struct {
	Image string
	Err   error
}

func (e *ImageNotFound) Error() string {
	msg := fmt.Sprintf("image %s not found", e.Image)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}
func (e *ImageNotFound) Unwrap() error { return e.Err }

// Superseded: another execution holds the service's lease; this one must not
// touch the service again.
type Superseded struct {
	Service string
	Holder  string
}

func (e *Superseded) Error() string {
	return fmt.Sprintf("service %s: lease taken over by %s", e.Service, e.Holder)
}

// Throttled: AWS throttled a call; the state machine retries with backoff.
type Throttled struct {
	Op  string
	Err error
}

func (e *Throttled) Error() string { return fmt.Sprintf("%s: throttled: %v", e.Op, e.Err) }
func (e *Throttled) Unwrap() error { return e.Err }

// Retryable: a transient failure (5xx, network, timeout, a conflicting
// concurrent update); the state machine retries with backoff.
type Retryable struct {
	Op         string
	Err        error
	RetryAfter time.Duration // a hint; Step Functions uses its own backoff
}

func (e *Retryable) Error() string { return fmt.Sprintf("%s: %v", e.Op, e.Err) }
func (e *Retryable) Unwrap() error { return e.Err }

// Internal: any other failure, named so the state machine sees one type.
type Internal struct {
	Op  string
	Err error
}

func (e *Internal) Error() string { return fmt.Sprintf("%s: %v", e.Op, e.Err) }
func (e *Internal) Unwrap() error { return e.Err }

// ErrorNames lists the error names the state machine may route on: the Go
// type names above, as aws-lambda-go reports them in errorType.
func ErrorNames() []string {
	return []string{
		"BadInput", "ServiceNotFound", "ContainerNotFound", "RegistryNotAllowed",
		"WrongFamily", "ImageNotFound", "UnsupportedDeploymentController", "Superseded", "Throttled", "Retryable", "Internal",
	}
}

// ErrorClass is how the state machine treats an error name: the one
// classification its Retry and Catch policy (statemachine.Policy) derives
// from.
type ErrorClass int

const (
	// Final: retrying cannot help (bad input, a missing service, ...);
	// the execution goes on to undo or finish.
	Final ErrorClass = iota
	// Throttle: AWS throttled a call; retried with a longer backoff.
	Throttle
	// Transient: a 5xx, a network failure; retried with a short backoff.
	Transient
	// Lost: the execution lost the service's lease (Superseded); it must not
	// touch the service again, so it finishes without undoing anything.
	Lost
	// Unexpected: Internal, any other failure; finish alone retries it (a
	// history write racing another), everything else treats it as terminal.
	Unexpected
)

// ClassOf is the class of an error name of ErrorNames.
func ClassOf(name string) ErrorClass {
	switch name {
	case "Throttled":
		return Throttle
	case "Retryable":
		return Transient
	case "Superseded":
		return Lost
	case "Internal":
		return Unexpected
	}
	return Final
}

// NamesOf lists the error names of ErrorNames in class c, in their order.
func NamesOf(c ErrorClass) []string {
	var out []string
	for _, n := range ErrorNames() {
		if ClassOf(n) == c {
			out = append(out, n)
		}
	}
	return out
}
