// Package ecr is the local cloud's Amazon ECR: repositories and image
// manifests (no layers are stored), with digests computed from the manifest
// bytes as ECR does, and the "ECR Image Action" event on every push.
package ecr

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/bus"
)

// DefaultRegion is where Go callers' repositories live when ctx carries no
// request region.
const DefaultRegion = awsproto.DefaultRegion

// Service is the local ECR.
type Service struct {
	clk     clock.Clock
	account string
	pub     bus.Publisher
	regions *awsproto.Regions

	mu      sync.Mutex
	repos   map[repoKey]*repository
	uploads map[string]*upload // layer uploads in progress, by upload ID
	seq     int64
}

type repoKey struct{ region, name string }

type repository struct {
	Repository
	region string
	images imageMap          // by digest
	tags   map[string]string // image tag -> digest
	labels map[string]string // resource tags
	layers map[string]layer  // uploaded blobs by digest
}

type image struct {
	digest, manifest, mediaType string
	size                        int64
	pushedAt                    awsproto.Time
	seq                         int64 // push order, for stable listing
	tags                        map[string]bool
}

// New returns an empty ECR registry for account. Events go to pub (nil
// drops them).
func New(clk clock.Clock, account string, pub bus.Publisher) (*Service, error) {
	if clk == nil {
		return nil, errors.New("ecr: nil clock")
	}
	if !regexp.MustCompile(`^\d{12}$`).MatchString(account) {
		return nil, fmt.Errorf("ecr: account %q is not 12 digits", account)
	}
	if pub == nil {
		pub = bus.Discard{}
	}
	return &Service{clk: clk, account: account, pub: pub, regions: awsproto.NewRegions(DefaultRegion), repos: map[repoKey]*repository{}, uploads: map[string]*upload{}}, nil
}

func (s *Service) Name() string         { return "ecr" }
func (s *Service) TargetPrefix() string { return "AmazonEC2ContainerRegistry_V20150921" }

// Call serves one API operation.
func (s *Service) Call(ctx context.Context, op string, input json.RawMessage) (any, error) {
	switch op {
	case "CreateRepository":
		return awsproto.Call(ctx, input, s.createRepository)
	case "DescribeRepositories":
		return awsproto.Call(ctx, input, s.describeRepositories)
	case "DeleteRepository":
		return awsproto.Call(ctx, input, s.deleteRepository)
	case "PutImage":
		return awsproto.Call(ctx, input, s.putImage)
	case "InitiateLayerUpload":
		return awsproto.Call(ctx, input, s.initiateLayerUpload)
	case "UploadLayerPart":
		return awsproto.Call(ctx, input, s.uploadLayerPart)
	case "CompleteLayerUpload":
		return awsproto.Call(ctx, input, s.completeLayerUpload)
	case "BatchCheckLayerAvailability":
		return awsproto.Call(ctx, input, s.batchCheckLayerAvailability)
	case "BatchGetImage":
		return awsproto.Call(ctx, input, s.batchGetImage)
	case "DescribeImages":
		return awsproto.Call(ctx, input, s.describeImages)
	case "ListImages":
		return awsproto.Call(ctx, input, s.listImages)
	case "TagResource":
		return awsproto.Call(ctx, input, s.tagResource)
	case "UntagResource":
		return awsproto.Call(ctx, input, s.untagResource)
	case "ListTagsForResource":
		return awsproto.Call(ctx, input, s.listTagsForResource)
	}
	return nil, awsproto.UnknownOperation("ecr", op)
}

func (s *Service) region(ctx context.Context) string { return s.regions.Of(ctx) }

// SetDefaultRegion sets the region of Go calls whose ctx carries no request
// (the ECS simulator, scenarios, tests); DefaultRegion until set.
func (s *Service) SetDefaultRegion(region string) { s.regions.SetDefault(region) }

func invalid(format string, args ...any) error {
	return awsproto.Errorf("InvalidParameterException", format, args...)
}

// checkRegistry rejects a registryId that is not this account's.
func (s *Service) checkRegistry(id string) error {
	if id != "" && id != s.account {
		return invalid("Invalid parameter at 'registryId' failed to satisfy constraint: the local cloud holds only registry %s", s.account)
	}
	return nil
}

// repo finds a repository; the caller holds mu.
func (s *Service) repo(ctx context.Context, registryID, name string) (*repository, error) {
	awsproto.Note(ctx, "repository", name)
	if err := s.checkRegistry(registryID); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, invalid("Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must not be empty'")
	}
	r, ok := s.repos[repoKey{s.region(ctx), name}]
	if !ok {
		return nil, awsproto.Errorf("RepositoryNotFoundException",
			"The repository with name '%s' does not exist in the registry with id '%s'", name, s.account)
	}
	return r, nil
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func encodeToken(last string) string { return awsproto.PageToken(last) }

func decodeToken(tok string) (string, error) {
	last, ok := awsproto.AfterPageToken(tok)
	if !ok {
		return "", invalid("Invalid parameter at 'nextToken' failed to satisfy constraint: 'invalid pagination token'")
	}
	return last, nil
}

func pageSize(maxResults, def int) (int, error) {
	if maxResults < 0 || maxResults > 1000 {
		return 0, invalid("Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value between 1 and 1000'")
	}
	if maxResults == 0 {
		return def, nil
	}
	return maxResults, nil
}

// ImageURI parses "<account>.dkr.ecr.<region>.amazonaws.com/<repo>[:tag|@digest]".
func ImageURI(uri string) (account, region, repo, ref string, err error) {
	host, path, ok := strings.Cut(uri, "/")
	parts := strings.Split(host, ".")
	if !ok || len(parts) != 6 || parts[1] != "dkr" || parts[2] != "ecr" || parts[4] != "amazonaws" || parts[5] != "com" {
		return "", "", "", "", fmt.Errorf("%q is not an ECR image URI", uri)
	}
	repo, ref = path, "latest"
	if i := strings.Index(path, "@"); i >= 0 {
		repo, ref = path[:i], path[i+1:]
	} else if i := strings.LastIndex(path, ":"); i >= 0 {
		repo, ref = path[:i], path[i+1:]
	}
	return parts[0], parts[3], repo, ref, nil
}

// Resolve returns the digest of an image URI (by tag or digest) if the
// image is in this registry: what the ECS simulator checks before it
// "pulls" an image.
func (s *Service) Resolve(ctx context.Context, uri string) (digest string, ok bool) {
	account, region, repo, ref, err := ImageURI(uri)
	if err != nil || account != s.account {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, found := s.repos[repoKey{region, repo}]
	if !found {
		return "", false
	}
	if strings.HasPrefix(ref, "sha256:") {
		_, ok := r.images[ref]
		return ref, ok
	}
	digest, ok = r.tags[ref]
	return digest, ok
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func seqKey(n int64) string { return strconv.FormatInt(n, 10) }
