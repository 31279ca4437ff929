package tagging

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"sync"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

// Service is the Resource Groups Tagging API over the resources of its
// sources. It keeps no state of its own: tags live with the resources.
type Service struct {
	mu      sync.Mutex
	sources []Source
}

// New returns the tagging API over sources; more may be added with Add.
func New(sources ...Source) (*Service, error) {
	s := &Service{}
	for _, src := range sources {
		if err := s.Add(src); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Add adds a source of resources.
func (s *Service) Add(src Source) error {
	if src == nil {
		return errors.New("tagging: nil source")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sources = append(s.sources, src)
	return nil
}

func (s *Service) Name() string         { return "tagging" }
func (s *Service) TargetPrefix() string { return "ResourceGroupsTaggingAPI_20170126" }

// Call serves one API operation.
func (s *Service) Call(ctx context.Context, op string, input json.RawMessage) (any, error) {
	switch op {
	case "GetResources":
		return awsproto.Call(ctx, input, s.getResources)
	case "GetTagKeys":
		return awsproto.Call(ctx, input, s.getTagKeys)
	case "GetTagValues":
		return awsproto.Call(ctx, input, s.getTagValues)
	}
	return nil, awsproto.UnknownOperation("tagging", op)
}

func invalid(format string, args ...any) error {
	return awsproto.Errorf("InvalidParameterException", format, args...)
}

// tagged lists every resource that has tags, by ARN: GetResources returns
// only tagged (or once tagged) resources.
func (s *Service) tagged(ctx context.Context) []Resource {
	s.mu.Lock()
	sources := append([]Source(nil), s.sources...)
	s.mu.Unlock()
	var out []Resource
	for _, src := range sources {
		for _, r := range src.TaggedResources(ctx) {
			if len(r.Tags) > 0 {
				out = append(out, r)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ARN < out[j].ARN })
	return out
}

// TagFilter matches resources with tag Key and, if Values is not empty,
// one of Values.
type TagFilter struct {
	Key    string   `json:"Key"`
	Values []string `json:"Values"`
}

type getResourcesInput struct {
	PaginationToken           string      `json:"PaginationToken"`
	TagFilters                []TagFilter `json:"TagFilters"`
	ResourcesPerPage          int         `json:"ResourcesPerPage"`
	TagsPerPage               int         `json:"TagsPerPage"`
	ResourceTypeFilters       []string    `json:"ResourceTypeFilters"`
	IncludeComplianceDetails  bool        `json:"IncludeComplianceDetails"`
	ExcludeCompliantResources bool        `json:"ExcludeCompliantResources"`
	ResourceARNList           []string    `json:"ResourceARNList"`
}

// Tag is a tag as GetResources returns it.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// ResourceTagMapping is one resource in GetResources' answer.
type ResourceTagMapping struct {
	ResourceARN string `json:"ResourceARN"`
	Tags        []Tag  `json:"Tags"`
}

type getResourcesOutput struct {
	PaginationToken        string               `json:"PaginationToken"`
	ResourceTagMappingList []ResourceTagMapping `json:"ResourceTagMappingList"`
}

func (s *Service) getResources(ctx context.Context, in *getResourcesInput) (*getResourcesOutput, error) {
	switch {
	case len(in.ResourceARNList) > 0 && (len(in.TagFilters) > 0 || len(in.ResourceTypeFilters) > 0):
		return nil, invalid("ResourceARNList cannot be used with TagFilters or ResourceTypeFilters")
	case len(in.ResourceARNList) > 100:
		return nil, invalid("ResourceARNList must have at most 100 ARNs")
	case len(in.TagFilters) > 50:
		return nil, invalid("TagFilters must have at most 50 filters")
	case in.ResourcesPerPage < 0 || in.ResourcesPerPage > 100:
		return nil, invalid("ResourcesPerPage must be between 1 and 100")
	case in.TagsPerPage != 0 && (in.TagsPerPage < 100 || in.TagsPerPage > 500):
		return nil, invalid("TagsPerPage must be between 100 and 500")
	case in.ExcludeCompliantResources && !in.IncludeComplianceDetails:
		return nil, invalid("ExcludeCompliantResources requires IncludeComplianceDetails")
	}
	for _, f := range in.TagFilters {
		if f.Key == "" || len(f.Key) > 128 {
			return nil, invalid("TagFilters: a Key is 1 to 128 characters")
		}
		if len(f.Values) > 20 {
			return nil, invalid("TagFilters: at most 20 Values per Key")
		}
	}
	for _, t := range in.ResourceTypeFilters {
		if t == "" || strings.Count(t, ":") > 1 {
			return nil, invalid("ResourceTypeFilters: %q is not service[:resourceType]", t)
		}
	}
	after, err := decodeToken(in.PaginationToken)
	if err != nil {
		return nil, err
	}
	limit := in.ResourcesPerPage
	if limit == 0 {
		limit = 50
	}
	arns := map[string]bool{}
	for _, a := range in.ResourceARNList {
		arns[a] = true
	}
	awsproto.Note(ctx, "filters", filterNote(in))
	out := &getResourcesOutput{ResourceTagMappingList: []ResourceTagMapping{}}
	for _, r := range s.tagged(ctx) {
		if r.ARN <= after || (len(arns) > 0 && !arns[r.ARN]) || !typeMatches(r.Type, in.ResourceTypeFilters) || !tagsMatch(r.Tags, in.TagFilters) {
			continue
		}
		if len(out.ResourceTagMappingList) == limit {
			out.PaginationToken = encodeToken(out.ResourceTagMappingList[limit-1].ResourceARN)
			break
		}
		out.ResourceTagMappingList = append(out.ResourceTagMappingList, ResourceTagMapping{ResourceARN: r.ARN, Tags: tagList(r.Tags)})
	}
	return out, nil
}

func filterNote(in *getResourcesInput) string {
	var parts []string
	for _, f := range in.TagFilters {
		parts = append(parts, f.Key+"="+strings.Join(f.Values, "|"))
	}
	parts = append(parts, in.ResourceTypeFilters...)
	return strings.Join(parts, ",")
}

// typeMatches: "ecs" matches every ECS resource, "ecs:service" services only.
func typeMatches(typ string, filters []string) bool {
	if len(filters) == 0 {
		return true
	}
	service, _, _ := strings.Cut(typ, ":")
	for _, f := range filters {
		if strings.EqualFold(f, typ) || (!strings.Contains(f, ":") && strings.EqualFold(f, service)) {
			return true
		}
	}
	return false
}

// tagsMatch: every filter must match (AND); within a filter any value
// (OR); a filter without values needs only the key.
func tagsMatch(tags map[string]string, filters []TagFilter) bool {
	for _, f := range filters {
		v, ok := tags[f.Key]
		if !ok {
			return false
		}
		if len(f.Values) == 0 {
			continue
		}
		found := false
		for _, want := range f.Values {
			if v == want {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func tagList(tags map[string]string) []Tag {
	out := make([]Tag, 0, len(tags))
	for k, v := range tags {
		out = append(out, Tag{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

type getTagKeysInput struct {
	PaginationToken string `json:"PaginationToken"`
}

type getTagKeysOutput struct {
	PaginationToken string   `json:"PaginationToken"`
	TagKeys         []string `json:"TagKeys"`
}

func (s *Service) getTagKeys(ctx context.Context, in *getTagKeysInput) (*getTagKeysOutput, error) {
	after, err := decodeToken(in.PaginationToken)
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for _, r := range s.tagged(ctx) {
		for k := range r.Tags {
			keys[k] = true
		}
	}
	out := &getTagKeysOutput{TagKeys: []string{}}
	out.TagKeys, out.PaginationToken = page(keys, after)
	return out, nil
}

type getTagValuesInput struct {
	PaginationToken string `json:"PaginationToken"`
	Key             string `json:"Key"`
}

type getTagValuesOutput struct {
	PaginationToken string   `json:"PaginationToken"`
	TagValues       []string `json:"TagValues"`
}

func (s *Service) getTagValues(ctx context.Context, in *getTagValuesInput) (*getTagValuesOutput, error) {
	if in.Key == "" {
		return nil, invalid("Key is required")
	}
	after, err := decodeToken(in.PaginationToken)
	if err != nil {
		return nil, err
	}
	values := map[string]bool{}
	for _, r := range s.tagged(ctx) {
		if v, ok := r.Tags[in.Key]; ok {
			values[v] = true
		}
	}
	out := &getTagValuesOutput{}
	out.TagValues, out.PaginationToken = page(values, after)
	return out, nil
}

// keysPerPage is how many tag keys or values one page holds.
const keysPerPage = 500

func page(set map[string]bool, after string) ([]string, string) {
	all := make([]string, 0, len(set))
	for k := range set {
		if k > after || after == "" {
			all = append(all, k)
		}
	}
	sort.Strings(all)
	if len(all) > keysPerPage {
		return all[:keysPerPage], encodeToken(all[keysPerPage-1])
	}
	return all, ""
}

func encodeToken(last string) string { return awsproto.PageToken(last) }

func decodeToken(tok string) (string, error) {
	last, ok := awsproto.AfterPageToken(tok)
	if !ok {
		return "", invalid("PaginationToken is not a token this API returned")
	}
	return last, nil
}
