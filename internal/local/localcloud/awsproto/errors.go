// Package awsproto holds what every local cloud service shares about the AWS
// wire protocols: the error shape and the request metadata a service sees.
package awsproto

import (
	"fmt"
	"net/http"
)

// Error is an AWS API error as the service returns it: Type is the exception
// name the SDKs turn into a typed error (ClusterNotFoundException, ...).
type Error struct {
	Type    string
	Message string
	Status  int // HTTP status; 400 when zero
	// Fields are further members of the error body, for exceptions that
	// carry data (DynamoDB's ConditionalCheckFailedException Item,
	// TransactionCanceledException CancellationReasons).
	Fields map[string]any
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// HTTPStatus is the status the error is sent with.
func (e *Error) HTTPStatus() int {
	if e.Status == 0 {
		return http.StatusBadRequest
	}
	return e.Status
}

// Errorf builds an Error with status 400.
func Errorf(typ, format string, args ...any) *Error {
	return &Error{Type: typ, Message: fmt.Sprintf(format, args...)}
}

// UnknownOperation is what a service answers for an operation it does not
// implement: an explicit error naming it, never an empty success.
func UnknownOperation(service, op string) *Error {
	return &Error{Type: "UnknownOperationException", Message: fmt.Sprintf("the local cloud does not support %s:%s", service, op)}
}

// Validation is the common ValidationException.
func Validation(format string, args ...any) *Error {
	return Errorf("ValidationException", format, args...)
}

// Throttling is what an injected throttling fault answers.
func Throttling(service, op string) *Error {
	return &Error{Type: "ThrottlingException", Message: fmt.Sprintf("Rate exceeded (%s:%s, injected)", service, op)}
}
