package actions

import (
	"errors"
	"fmt"
)

// Application error codes. Only the bot turns them into chat text.
const (
	EINVALID     = "invalid"     // the request itself is wrong: bad parameter, unknown action
	ENOTFOUND    = "not_found"   // the user, group or tenant does not exist
	EFORBIDDEN   = "forbidden"   // the app or the technician lacks a permission
	ECONFLICT    = "conflict"    // the object's state forbids the change (synced user, already a member)
	EUNAVAILABLE = "unavailable" // throttled or the service is down; trying later may work
	EINTERNAL    = "internal"    // anything unexpected
)

// Error is an application error with a code and a short message fit for a
// technician. Detail, if non-empty, holds the service's own words (error code,
// request-id) for logs and the audit record; it is never shown in chat.
type Error struct {
	Code    string
	Message string
	Detail  string
	// RequestID is the Graph request-id of the failing call, if any.
	RequestID string
	// RetryAfter is the service's advice, in seconds, for EUNAVAILABLE.
	RetryAfter float64
	// Choices, if any, are the ways out of an ambiguous request (a group
	// name that several groups share): setting Param to Value.
	Choices []Choice
}

// Choice is one way to settle an ambiguous request.
type Choice struct {
	Label string // "Sales (distribution list)"
	Param string // "group"
	Value string // the group's ID
}

// ChoicesOf returns the choices carried by err, if any.
func ChoicesOf(err error) []Choice {
	var e *Error
	if errors.As(err, &e) {
		return e.Choices
	}
	return nil
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Detail)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, or
// "internal error" for any other non-nil error.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// RequestID returns the Graph request-id carried by err, if any.
func RequestID(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.RequestID
	}
	return ""
}
