package contract

import (
	"errors"
	"reflect"
	"slices"
)

// NameOf returns the name (of ErrorNames) of the outermost contract error in
// err's chain, as the state machine would see it, or "" when there is none.
// Callers outside the functions (the operator CLI) classify their own
// errors with it and ClassOf, so there is one list of names.
func NameOf(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		t := reflect.TypeOf(e)
		if t.Kind() != reflect.Pointer || t.Elem().PkgPath() != contractPkg {
			continue
		}
		if name := t.Elem().Name(); slices.Contains(ErrorNames(), name) {
			return name
		}
	}
	return ""
}

// contractPkg is this package's import path: a type of another package
// that happens to share a name is not one of ours.
var contractPkg = reflect.TypeFor[BadInput]().PkgPath()
