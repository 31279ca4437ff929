package ecr

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

// Repository is a repository as the API returns it.
type Repository struct {
	RepositoryArn              string                     `json:"repositoryArn"`
	RegistryID                 string                     `json:"registryId"`
	RepositoryName             string                     `json:"repositoryName"`
	RepositoryURI              string                     `json:"repositoryUri"`
	CreatedAt                  awsproto.Time              `json:"createdAt"`
	ImageTagMutability         string                     `json:"imageTagMutability"`
	ImageScanningConfiguration ImageScanningConfiguration `json:"imageScanningConfiguration"`
	EncryptionConfiguration    EncryptionConfiguration    `json:"encryptionConfiguration"`
}

// ImageScanningConfiguration says whether images are scanned on push.
type ImageScanningConfiguration struct {
	ScanOnPush bool `json:"scanOnPush"`
}

// EncryptionConfiguration is how the repository is encrypted at rest.
type EncryptionConfiguration struct {
	EncryptionType string `json:"encryptionType"`
	KmsKey         string `json:"kmsKey,omitempty"`
}

// Tag is a repository tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

var repoNameRE = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

type createRepositoryInput struct {
	RegistryID                 string                      `json:"registryId"`
	RepositoryName             string                      `json:"repositoryName"`
	ImageTagMutability         string                      `json:"imageTagMutability"`
	ImageScanningConfiguration *ImageScanningConfiguration `json:"imageScanningConfiguration"`
	EncryptionConfiguration    *EncryptionConfiguration    `json:"encryptionConfiguration"`
	Tags                       []Tag                       `json:"tags"`
}

type repositoryOutput struct {
	Repository Repository `json:"repository"`
}

func (s *Service) createRepository(ctx context.Context, in *createRepositoryInput) (*repositoryOutput, error) {
	awsproto.Note(ctx, "repository", in.RepositoryName)
	if err := s.checkRegistry(in.RegistryID); err != nil {
		return nil, err
	}
	if len(in.RepositoryName) < 2 || len(in.RepositoryName) > 256 || !repoNameRE.MatchString(in.RepositoryName) {
		return nil, invalid("Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '%s' and be 2 to 256 characters'", repoNameRE)
	}
	mut := in.ImageTagMutability
	switch mut {
	case "":
		mut = "MUTABLE"
	case "MUTABLE", "IMMUTABLE":
	default:
		return nil, invalid("Invalid parameter at 'imageTagMutability': %q is not MUTABLE or IMMUTABLE", mut)
	}
	enc := EncryptionConfiguration{EncryptionType: "AES256"}
	if in.EncryptionConfiguration != nil {
		switch in.EncryptionConfiguration.EncryptionType {
		case "AES256", "KMS", "KMS_DSSE":
			enc = *in.EncryptionConfiguration
		default:
			return nil, invalid("Invalid parameter at 'encryptionType': %q", in.EncryptionConfiguration.EncryptionType)
		}
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	region := s.region(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	key := repoKey{region, in.RepositoryName}
	if _, ok := s.repos[key]; ok {
		return nil, awsproto.Errorf("RepositoryAlreadyExistsException",
			"The repository with name '%s' already exists in the registry with id '%s'", in.RepositoryName, s.account)
	}
	r := &repository{
		Repository: Repository{
			RepositoryArn:           fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", region, s.account, in.RepositoryName),
			RegistryID:              s.account,
			RepositoryName:          in.RepositoryName,
			RepositoryURI:           fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", s.account, region, in.RepositoryName),
			CreatedAt:               awsproto.Time(s.clk.Now().UTC()),
			ImageTagMutability:      mut,
			EncryptionConfiguration: enc,
		},
		region: region,
		images: imageMap{},
		tags:   map[string]string{},
		labels: map[string]string{},
		layers: map[string]layer{},
	}
	for _, t := range in.Tags {
		r.labels[t.Key] = t.Value
	}
	if in.ImageScanningConfiguration != nil {
		r.ImageScanningConfiguration = *in.ImageScanningConfiguration
	}
	s.repos[key] = r
	return &repositoryOutput{Repository: r.Repository}, nil
}

type describeRepositoriesInput struct {
	RegistryID      string   `json:"registryId"`
	RepositoryNames []string `json:"repositoryNames"`
	NextToken       string   `json:"nextToken"`
	MaxResults      int      `json:"maxResults"`
}

type describeRepositoriesOutput struct {
	Repositories []Repository `json:"repositories"`
	NextToken    string       `json:"nextToken,omitempty"`
}

func (s *Service) describeRepositories(ctx context.Context, in *describeRepositoriesInput) (*describeRepositoriesOutput, error) {
	if err := s.checkRegistry(in.RegistryID); err != nil {
		return nil, err
	}
	if len(in.RepositoryNames) > 0 && (in.MaxResults != 0 || in.NextToken != "") {
		return nil, invalid("maxResults and nextToken cannot be used with repositoryNames")
	}
	limit, err := pageSize(in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &describeRepositoriesOutput{Repositories: []Repository{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(in.RepositoryNames) > 0 {
		for _, n := range in.RepositoryNames {
			r, err := s.repo(ctx, "", n)
			if err != nil {
				return nil, err
			}
			out.Repositories = append(out.Repositories, r.Repository)
		}
		return out, nil
	}
	region := s.region(ctx)
	var names []string
	for k := range s.repos {
		if k.region == region && k.name > after {
			names = append(names, k.name)
		}
	}
	sort.Strings(names)
	for i, n := range names {
		if i == limit {
			out.NextToken = encodeToken(names[i-1])
			break
		}
		out.Repositories = append(out.Repositories, s.repos[repoKey{region, n}].Repository)
	}
	return out, nil
}

type deleteRepositoryInput struct {
	RegistryID     string `json:"registryId"`
	RepositoryName string `json:"repositoryName"`
	Force          bool   `json:"force"`
}

func (s *Service) deleteRepository(ctx context.Context, in *deleteRepositoryInput) (*repositoryOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if len(r.images) > 0 && !in.Force {
		return nil, awsproto.Errorf("RepositoryNotEmptyException",
			"The repository with name '%s' in registry with id '%s' cannot be deleted because it still contains images", in.RepositoryName, s.account)
	}
	delete(s.repos, repoKey{r.region, r.RepositoryName})
	return &repositoryOutput{Repository: r.Repository}, nil
}

func validateTags(tags []Tag) error {
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return awsproto.Errorf("InvalidTagParameterException", "invalid tag key %q: 1 to 128 characters, values up to 256", t.Key)
		}
	}
	return nil
}

type tagResourceInput struct {
	ResourceArn string   `json:"resourceArn"`
	Tags        []Tag    `json:"tags"`
	TagKeys     []string `json:"tagKeys"`
}

// byARN finds the repository an ARN names; the caller holds mu.
func (s *Service) byARN(ctx context.Context, arn string) (*repository, error) {
	awsproto.Note(ctx, "arn", arn)
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "ecr" || !strings.HasPrefix(parts[5], "repository/") {
		return nil, invalid("Invalid parameter at 'resourceArn' failed to satisfy constraint: %q is not a repository ARN", arn)
	}
	region, account, name := parts[3], parts[4], strings.TrimPrefix(parts[5], "repository/")
	r, ok := s.repos[repoKey{region, name}]
	if !ok || account != s.account {
		return nil, awsproto.Errorf("RepositoryNotFoundException", "The repository with ARN '%s' does not exist", arn)
	}
	return r, nil
}

func (s *Service) tagResource(ctx context.Context, in *tagResourceInput) (struct{}, error) {
	if err := validateTags(in.Tags); err != nil {
		return struct{}{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.byARN(ctx, in.ResourceArn)
	if err != nil {
		return struct{}{}, err
	}
	for _, t := range in.Tags {
		r.labels[t.Key] = t.Value
	}
	return struct{}{}, nil
}

func (s *Service) untagResource(ctx context.Context, in *tagResourceInput) (struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.byARN(ctx, in.ResourceArn)
	if err != nil {
		return struct{}{}, err
	}
	for _, k := range in.TagKeys {
		delete(r.labels, k)
	}
	return struct{}{}, nil
}

type listTagsOutput struct {
	Tags []Tag `json:"tags"`
}

func (s *Service) listTagsForResource(ctx context.Context, in *tagResourceInput) (*listTagsOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.byARN(ctx, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	out := &listTagsOutput{Tags: []Tag{}}
	for _, k := range sortedKeys(r.labels) {
		out.Tags = append(out.Tags, Tag{Key: k, Value: r.labels[k]})
	}
	return out, nil
}
