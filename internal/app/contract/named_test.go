package contract

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestNameOf(t *testing.T) {
	errs := []error{
		&BadInput{}, &ServiceNotFound{}, &ContainerNotFound{}, &RegistryNotAllowed{}, &WrongFamily{},
		&ImageNotFound{}, &UnsupportedDeploymentController{}, &Superseded{}, &Throttled{}, &Retryable{}, &Internal{},
	}
	var names []string
	for _, e := range errs {
		names = append(names, NameOf(fmt.Errorf("context: %w", e)))
	}
	if !slices.Equal(names, ErrorNames()) {
		t.Errorf("NameOf gives %v, want ErrorNames %v", names, ErrorNames())
	}
	// The outermost wins: a Retryable wrapping a BadInput is Retryable.
	if got := NameOf(&Retryable{Err: &BadInput{}}); got != "Retryable" {
		t.Errorf("outermost: %q", got)
	}
	if got := NameOf(errors.New("plain")); got != "" {
		t.Errorf("plain error named %q", got)
	}
	if got := NameOf(nil); got != "" {
		t.Errorf("nil named %q", got)
	}
}
