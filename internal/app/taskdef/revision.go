package taskdef

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Revision identifies one task definition revision.
type Revision struct {
	Family   string
	Revision int
}

func (r Revision) String() string { return fmt.Sprintf("%s:%d", r.Family, r.Revision) }

// RevisionError: a string that is not a task definition ARN, "family:revision"
// or revision number.
type RevisionError struct {
	Value  string
	Reason string
}

func (e *RevisionError) Error() string { return fmt.Sprintf("revision %q: %s", e.Value, e.Reason) }

// WrongFamilyError: a revision of another family than the service's.
type WrongFamilyError struct {
	Revision string
	Family   string
}

func (e *WrongFamilyError) Error() string {
	return fmt.Sprintf("revision %s is not of family %s", e.Revision, e.Family)
}

// Task definition families: up to 255 letters, digits, hyphens and underscores
// (compiled at first use, as digestRE).
var familyRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`) })
var digitsRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+$`) })

// ParseRevision reads a task definition ARN
// (arn:aws:ecs:region:account:task-definition/family:7) or "family:7".
func ParseRevision(s string) (Revision, error) {
	v := s
	if strings.HasPrefix(v, "arn:") {
		i := strings.Index(v, ":task-definition/")
		if i < 0 {
			return Revision{}, &RevisionError{Value: s, Reason: "not a task definition ARN"}
		}
		v = v[i+len(":task-definition/"):]
	}
	fam, num, ok := strings.Cut(v, ":")
	if !ok || !familyRE().MatchString(fam) {
		return Revision{}, &RevisionError{Value: s, Reason: "want family:revision"}
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || !digitsRE().MatchString(num) {
		return Revision{}, &RevisionError{Value: s, Reason: "revision is not a positive number"}
	}
	return Revision{Family: fam, Revision: n}, nil
}

// ResolveRevision reads a rollback target given by an operator against the
// service's current revision: an ARN, "family:N" or just "N" (of the current
// family). It returns *WrongFamilyError for another family. The result is
// "family:N", which DescribeTaskDefinition and UpdateService accept.
func ResolveRevision(given, current string) (Revision, error) {
	cur, err := ParseRevision(current)
	if err != nil {
		return Revision{}, err
	}
	if n, err := strconv.Atoi(given); err == nil {
		if n < 1 {
			return Revision{}, &RevisionError{Value: given, Reason: "revision is not a positive number"}
		}
		return Revision{Family: cur.Family, Revision: n}, nil
	}
	r, err := ParseRevision(given)
	if err != nil {
		return Revision{}, err
	}
	if r.Family != cur.Family {
		return Revision{}, &WrongFamilyError{Revision: given, Family: cur.Family}
	}
	return r, nil
}
