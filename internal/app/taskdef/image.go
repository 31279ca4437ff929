package taskdef

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Image is a container image reference split into its parts.
type Image struct {
	// Registry is the host, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com;
	// empty for Docker Hub short names.
	Registry   string
	Repository string
	Tag        string
	// Digest is "sha256:<64 hex>" when the reference is pinned.
	Digest string
}

// String returns the reference in its usual form.
func (i Image) String() string {
	s := i.Repository
	if i.Registry != "" {
		s = i.Registry + "/" + s
	}
	if i.Tag != "" {
		s += ":" + i.Tag
	}
	if i.Digest != "" {
		s += "@" + i.Digest
	}
	return s
}

// Pinned returns <registry>/<repository>@<digest>, the form a deploy writes.
func (i Image) Pinned() string {
	return Image{Registry: i.Registry, Repository: i.Repository, Digest: i.Digest}.String()
}

// SameRepository reports whether both images are from one registry and repository.
func (i Image) SameRepository(o Image) bool {
	return i.Registry == o.Registry && i.Repository == o.Repository
}

// ecrHost matches ECR registry hosts and captures the account and region.
// Compiled at first use, as digestRE.
var ecrHost = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.(?:amazonaws\.com(?:\.cn)?|sc2s\.sgov\.gov|c2s\.ic\.gov)$`)
})

// Account returns the AWS account of an ECR registry, or "" for other registries.
func (i Image) Account() string {
	if m := ecrHost().FindStringSubmatch(i.Registry); m != nil {
		return m[1]
	}
	return ""
}

// Region returns the AWS region of an ECR registry, or "" for other registries.
func (i Image) Region() string {
	if m := ecrHost().FindStringSubmatch(i.Registry); m != nil {
		return m[2]
	}
	return ""
}

// ECRRegistry returns the ECR registry host of an account and region.
func ECRRegistry(account, region string) string {
	return fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com", account, region)
}

// Compiled at first use: a counted repetition compiles to a program as long
// as its count, which every cold start would otherwise build.
var digestRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^sha256:[a-f0-9]{64}$`) })

// ValidDigest reports whether d is "sha256:" and 64 lowercase hex digits.
func ValidDigest(d string) bool { return digestRE().MatchString(d) }

var repoRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$`)
})
var tagRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`) })

// ImageError: a malformed image reference.
type ImageError struct {
	Image  string
	Reason string
}

func (e *ImageError) Error() string { return fmt.Sprintf("image %q: %s", e.Image, e.Reason) }

// ParseImage splits [registry/]repository[:tag][@sha256:digest]. The first
// path element is a registry when it contains a "." or ":" or is "localhost".
func ParseImage(s string) (Image, error) {
	var img Image
	rest := s
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		img.Digest = rest[at+1:]
		rest = rest[:at]
		if !ValidDigest(img.Digest) {
			return Image{}, &ImageError{Image: s, Reason: "digest is not sha256:<64 hex>"}
		}
	}
	if slash := strings.Index(rest, "/"); slash >= 0 {
		first := rest[:slash]
		if strings.ContainsAny(first, ".:") || first == "localhost" {
			img.Registry = first
			rest = rest[slash+1:]
		}
	}
	if colon := strings.LastIndex(rest, ":"); colon >= 0 {
		img.Tag = rest[colon+1:]
		rest = rest[:colon]
		if !tagRE().MatchString(img.Tag) {
			return Image{}, &ImageError{Image: s, Reason: "bad tag"}
		}
	}
	img.Repository = rest
	if !repoRE().MatchString(img.Repository) {
		return Image{}, &ImageError{Image: s, Reason: "bad repository name"}
	}
	return img, nil
}

// Policy says which registries images may come from. Both lists empty allows
// every registry; otherwise an image is allowed when its registry host is in
// Registries or it is an ECR image of an account in Accounts (in any region).
type Policy struct {
	Registries []string
	Accounts   []string
}

// DefaultPolicy is the allow-list when none is configured: exactly this
// account's ECR in this region, <account>.dkr.ecr.<region>.amazonaws.com.
// (Accounts would allow the account's ECR in every region.)
func DefaultPolicy(account, region string) Policy {
	return Policy{Registries: []string{ECRRegistry(account, region)}}
}

// Allows reports whether the policy allows the image.
func (p Policy) Allows(img Image) bool {
	if len(p.Registries) == 0 && len(p.Accounts) == 0 {
		return true
	}
	if img.Registry != "" && slices.Contains(p.Registries, img.Registry) {
		return true
	}
	acct := img.Account()
	return acct != "" && slices.Contains(p.Accounts, acct)
}

// ImageNotAllowedError: the image's registry or account is not allowed.
type ImageNotAllowedError struct {
	Image    string
	Registry string
}

func (e *ImageNotAllowedError) Error() string {
	reg := e.Registry
	if reg == "" {
		reg = "docker.io"
	}
	return fmt.Sprintf("image %s: registry %s is not allowed", e.Image, reg)
}

// UnknownContainerError: a container to update is not in the task definition.
type UnknownContainerError struct {
	Family    string
	Container string
	Known     []string
}

func (e *UnknownContainerError) Error() string {
	return fmt.Sprintf("container %q is not in task definition %s (has %s)", e.Container, e.Family, strings.Join(e.Known, ", "))
}

// NoContainerForRepositoryError: no container was named and none runs an
// image of the repository, so there is nothing to update.
type NoContainerForRepositoryError struct {
	Family     string
	Repository string
}

func (e *NoContainerForRepositoryError) Error() string {
	return fmt.Sprintf("no container of task definition %s uses repository %s", e.Family, e.Repository)
}

// ImageChange is one container whose image changes.
type ImageChange struct {
	Container string
	From, To  string
}

// ReplaceImages pins the image of the named containers (or, with none
// named, of every container whose image is from img's registry and
// repository) to img's digest, in place. It checks everything before
// changing anything: on error in is untouched.
func ReplaceImages(in *ecs.RegisterTaskDefinitionInput, img Image, containers []string, p Policy) ([]ImageChange, error) {
	if !ValidDigest(img.Digest) {
		return nil, &ImageError{Image: img.String(), Reason: "not pinned by a sha256 digest"}
	}
	if !p.Allows(img) {
		return nil, &ImageNotAllowedError{Image: img.String(), Registry: img.Registry}
	}
	family := aws.ToString(in.Family)
	var idx []int
	if len(containers) > 0 {
		for _, name := range containers {
			i := slices.IndexFunc(in.ContainerDefinitions, func(c ecstypes.ContainerDefinition) bool { return aws.ToString(c.Name) == name })
			if i < 0 {
				var known []string
				for _, c := range in.ContainerDefinitions {
					known = append(known, aws.ToString(c.Name))
				}
				return nil, &UnknownContainerError{Family: family, Container: name, Known: known}
			}
			if !slices.Contains(idx, i) {
				idx = append(idx, i)
			}
		}
	} else {
		for i, c := range in.ContainerDefinitions {
			cur, err := ParseImage(aws.ToString(c.Image))
			if err == nil && cur.SameRepository(img) {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			return nil, &NoContainerForRepositoryError{Family: family, Repository: Image{Registry: img.Registry, Repository: img.Repository}.String()}
		}
	}
	pinned := img.Pinned()
	var changes []ImageChange
	for _, i := range idx {
		c := &in.ContainerDefinitions[i]
		changes = append(changes, ImageChange{Container: aws.ToString(c.Name), From: aws.ToString(c.Image), To: pinned})
		c.Image = aws.String(pinned)
	}
	return changes, nil
}
