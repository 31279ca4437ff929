package contract

import (
	"errors"
	"reflect"
)

// NameOf returns the name (of ErrorNames) of the outermost contract error in
// err's chain, as the state machine would see it, or "" when there is none.
// Callers outside the functions (the operator CLI) classify their own
// errors with it and ClassOf, so there is one list of names.
func NameOf(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch e.(type) {
		case *BadInput, *ServiceNotFound, *ContainerNotFound, *RegistryNotAllowed, *WrongFamily,
			*ImageNotFound, *Superseded, *Throttled, *Retryable, *Internal:
			return reflect.TypeOf(e).Elem().Name()
		}
	}
	return ""
}
