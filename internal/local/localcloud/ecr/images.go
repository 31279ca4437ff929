package ecr

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/bus"
)

// Manifest media types ECR accepts.
const (
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeOCIIndex       = "application/vnd.oci.image.index.v1+json"
	mediaTypeDockerConfig   = "application/vnd.docker.container.image.v1+json"
	mediaTypeDockerLayer    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
)

var mediaTypes = map[string]bool{MediaTypeDockerManifest: true, MediaTypeDockerList: true, MediaTypeOCIManifest: true, MediaTypeOCIIndex: true}

// ImageIdentifier names an image by digest, tag or both.
type ImageIdentifier struct {
	ImageDigest string `json:"imageDigest,omitempty"`
	ImageTag    string `json:"imageTag,omitempty"`
}

// Image is an image as PutImage and BatchGetImage return it.
type Image struct {
	RegistryID             string          `json:"registryId"`
	RepositoryName         string          `json:"repositoryName"`
	ImageID                ImageIdentifier `json:"imageId"`
	ImageManifest          string          `json:"imageManifest"`
	ImageManifestMediaType string          `json:"imageManifestMediaType"`
}

// ImageDetail is an image as DescribeImages returns it.
type ImageDetail struct {
	RegistryID             string        `json:"registryId"`
	RepositoryName         string        `json:"repositoryName"`
	ImageDigest            string        `json:"imageDigest"`
	ImageTags              []string      `json:"imageTags,omitempty"`
	ImageSizeInBytes       int64         `json:"imageSizeInBytes"`
	ImagePushedAt          awsproto.Time `json:"imagePushedAt"`
	ImageManifestMediaType string        `json:"imageManifestMediaType"`
	ArtifactMediaType      string        `json:"artifactMediaType,omitempty"`
}

// Digest is what ECR names a manifest by: the sha256 of its bytes.
func Digest(manifest []byte) string {
	sum := sha256.Sum256(manifest)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Manifest returns a valid Docker image manifest (v2, schema 2) for a fake
// image: seed decides its config and layer digests, so different seeds give
// different image digests and the same seed the same one.
func Manifest(seed string) []byte {
	blob := func(kind string) string {
		sum := sha256.Sum256([]byte(kind + ":" + seed))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	type descriptor struct {
		MediaType string `json:"mediaType"`
		Size      int64  `json:"size"`
		Digest    string `json:"digest"`
	}
	m := struct {
		SchemaVersion int          `json:"schemaVersion"`
		MediaType     string       `json:"mediaType"`
		Config        descriptor   `json:"config"`
		Layers        []descriptor `json:"layers"`
	}{
		SchemaVersion: 2,
		MediaType:     MediaTypeDockerManifest,
		Config:        descriptor{MediaType: mediaTypeDockerConfig, Size: 1457, Digest: blob("config")},
		Layers: []descriptor{
			{MediaType: mediaTypeDockerLayer, Size: 3623807, Digest: blob("layer0")},
			{MediaType: mediaTypeDockerLayer, Size: 2811478 + int64(len(seed)), Digest: blob("layer1")},
		},
	}
	p, err := json.MarshalIndent(m, "", "   ")
	if err != nil {
		panic(fmt.Sprintf("ecr: marshal manifest: %v", err)) // plain struct always marshals
	}
	return p
}

// parsedManifest is what ECR reads from a manifest: its media type and the
// sizes that make imageSizeInBytes.
type parsedManifest struct {
	SchemaVersion int    `json:"schemaVersion"`
	MediaType     string `json:"mediaType"`
	Config        *struct {
		Size int64 `json:"size"`
	} `json:"config"`
	Layers []struct {
		Size int64 `json:"size"`
	} `json:"layers"`
	Manifests []json.RawMessage `json:"manifests"`
}

func parseManifest(manifest, mediaType string) (mt string, size int64, err error) {
	var m parsedManifest
	if err := json.Unmarshal([]byte(manifest), &m); err != nil {
		return "", 0, invalid("Invalid parameter at 'imageManifest' failed to satisfy constraint: 'manifest is not valid JSON: %v'", err)
	}
	if m.SchemaVersion != 2 {
		return "", 0, invalid("Invalid parameter at 'imageManifest' failed to satisfy constraint: 'schemaVersion %d is not supported'", m.SchemaVersion)
	}
	mt = mediaType
	if mt == "" {
		mt = m.MediaType
	}
	if mt == "" {
		mt = MediaTypeOCIManifest // an OCI manifest may leave its media type out
	}
	if !mediaTypes[mt] {
		return "", 0, invalid("Invalid parameter at 'imageManifestMediaType': unsupported media type %q", mt)
	}
	if m.MediaType != "" && mediaType != "" && m.MediaType != mediaType {
		return "", 0, invalid("Invalid parameter at 'imageManifestMediaType': %q does not match the manifest's mediaType %q", mediaType, m.MediaType)
	}
	if m.Config == nil && len(m.Manifests) == 0 {
		return "", 0, invalid("Invalid parameter at 'imageManifest' failed to satisfy constraint: 'manifest has neither config nor manifests'")
	}
	if m.Config != nil {
		size += m.Config.Size
	}
	for _, l := range m.Layers {
		size += l.Size
	}
	return mt, size, nil
}

var tagRE = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,299}$`)

type putImageInput struct {
	RegistryID             string `json:"registryId"`
	RepositoryName         string `json:"repositoryName"`
	ImageManifest          string `json:"imageManifest"`
	ImageManifestMediaType string `json:"imageManifestMediaType"`
	ImageTag               string `json:"imageTag"`
	ImageDigest            string `json:"imageDigest"`
}

type putImageOutput struct {
	Image Image `json:"image"`
}

func (s *Service) putImage(ctx context.Context, in *putImageInput) (*putImageOutput, error) {
	awsproto.Note(ctx, "tag", in.ImageTag)
	if in.ImageManifest == "" {
		return nil, invalid("Invalid parameter at 'imageManifest' failed to satisfy constraint: 'must not be empty'")
	}
	if in.ImageTag != "" && !tagRE.MatchString(in.ImageTag) {
		return nil, invalid("Invalid parameter at 'imageTag' failed to satisfy constraint: %q is not a valid tag", in.ImageTag)
	}
	mediaType, size, err := parseManifest(in.ImageManifest, in.ImageManifestMediaType)
	if err != nil {
		return nil, err
	}
	digest := Digest([]byte(in.ImageManifest))
	if in.ImageDigest != "" && in.ImageDigest != digest {
		return nil, awsproto.Errorf("ImageDigestDoesNotMatchException",
			"The specified image digest '%s' does not match the digest '%s' of the manifest", in.ImageDigest, digest)
	}
	s.mu.Lock()
	r, err := s.repo(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	awsproto.Note(ctx, "digest", digest)
	if missing := missingLayers(r, in.ImageManifest); len(missing) > 0 {
		s.mu.Unlock()
		return nil, awsproto.Errorf("LayersNotFoundException",
			"Layers with digests '%v' required for pushing image into repository with name '%s' in registry with id '%s' do not exist",
			missing, r.RepositoryName, s.account)
	}
	img, exists := r.images[digest]
	old, tagged := r.tags[in.ImageTag]
	switch {
	case exists && (in.ImageTag == "" || (tagged && old == digest)):
		s.mu.Unlock()
		return nil, awsproto.Errorf("ImageAlreadyExistsException",
			"Image with digest '%s' and tag '%s' already exists in the repository with name '%s' in registry with id '%s'",
			digest, in.ImageTag, r.RepositoryName, s.account)
	case tagged && old != digest && r.ImageTagMutability == "IMMUTABLE":
		s.mu.Unlock()
		return nil, awsproto.Errorf("ImageTagAlreadyExistsException",
			"The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable.",
			in.ImageTag, r.RepositoryName)
	}
	now := s.clk.Now().UTC()
	if !exists {
		s.seq++
		// imagePushedAt is the image's first push, to the millisecond (the
		// virtual clock's instant): tagging it again later keeps it.
		img = &image{digest: digest, manifest: in.ImageManifest, mediaType: mediaType, size: size, seq: s.seq, tags: map[string]bool{},
			pushedAt: awsproto.Time(now)}
		r.images[digest] = img
	}
	if in.ImageTag != "" {
		if tagged && old != digest {
			delete(r.images[old].tags, in.ImageTag) // the tag moves; the old image stays, maybe untagged
		}
		r.tags[in.ImageTag] = digest
		img.tags[in.ImageTag] = true
	}
	out := &putImageOutput{Image: Image{
		RegistryID: s.account, RepositoryName: r.RepositoryName,
		ImageID:       ImageIdentifier{ImageDigest: digest, ImageTag: in.ImageTag},
		ImageManifest: img.manifest, ImageManifestMediaType: img.mediaType,
	}}
	ev := s.pushEvent(r, digest, in.ImageTag, now)
	s.mu.Unlock()
	s.pub.Publish(ctx, ev)
	return out, nil
}

// ImageActionDetail is the detail of an "ECR Image Action" event as AWS
// documents it (testdata/ecr-image-action.json).
type ImageActionDetail struct {
	Result         string `json:"result"`
	RepositoryName string `json:"repository-name"`
	ImageDigest    string `json:"image-digest"`
	ActionType     string `json:"action-type"`
	ImageTag       string `json:"image-tag,omitempty"`
}

// Event source and detail type of a push on EventBridge.
const (
	EventSource           = "aws.ecr"
	DetailTypeImageAction = "ECR Image Action"
)

func (s *Service) pushEvent(r *repository, digest, tag string, t time.Time) bus.Event {
	detail, err := json.Marshal(ImageActionDetail{Result: "SUCCESS", RepositoryName: r.RepositoryName, ImageDigest: digest, ActionType: "PUSH", ImageTag: tag})
	if err != nil {
		panic(fmt.Sprintf("ecr: marshal event detail: %v", err)) // plain struct always marshals
	}
	return bus.Event{
		Version: "0", ID: newID(), DetailType: DetailTypeImageAction, Source: EventSource,
		Account: s.account, Time: bus.FormatTime(t), Region: r.region,
		Resources: []string{}, // AWS sends an empty list for pushes
		Detail:    detail,
	}
}

// CreateRepository creates a repository from Go (tests, demo); it is a
// no-op if the repository exists.
func (s *Service) CreateRepository(ctx context.Context, name string) error {
	_, err := s.createRepository(ctx, &createRepositoryInput{RepositoryName: name})
	if err != nil && awsErrorType(err) != "RepositoryAlreadyExistsException" {
		return fmt.Errorf("create repository %s: %w", name, err)
	}
	return nil
}

// PushImage puts manifest into repo with tag, as `docker push` ends with
// PutImage, and returns the image digest. The repository must exist. Its
// layers are taken as uploaded (SeedLayers): the Go-only shortcut.
func (s *Service) PushImage(ctx context.Context, repo, tag string, manifest []byte) (digest string, err error) {
	if err := s.SeedLayers(ctx, repo, manifest); err != nil {
		return "", err
	}
	out, err := s.putImage(ctx, &putImageInput{RepositoryName: repo, ImageTag: tag, ImageManifest: string(manifest)})
	if err != nil {
		return "", fmt.Errorf("push %s:%s: %w", repo, tag, err)
	}
	return out.Image.ImageID.ImageDigest, nil
}

func awsErrorType(err error) string {
	if e, ok := err.(*awsproto.Error); ok {
		return e.Type
	}
	return ""
}

type batchGetImageInput struct {
	RegistryID         string            `json:"registryId"`
	RepositoryName     string            `json:"repositoryName"`
	ImageIDs           []ImageIdentifier `json:"imageIds"`
	AcceptedMediaTypes []string          `json:"acceptedMediaTypes"`
}

// ImageFailure is an image a batch call could not serve.
type ImageFailure struct {
	ImageID       ImageIdentifier `json:"imageId"`
	FailureCode   string          `json:"failureCode"`
	FailureReason string          `json:"failureReason"`
}

type batchGetImageOutput struct {
	Images   []Image        `json:"images"`
	Failures []ImageFailure `json:"failures"`
}

// find resolves an image id; the caller holds mu.
func (r *repository) find(id ImageIdentifier) (*image, *ImageFailure) {
	fail := func(code, reason string) (*image, *ImageFailure) {
		return nil, &ImageFailure{ImageID: id, FailureCode: code, FailureReason: reason}
	}
	switch {
	case id.ImageDigest == "" && id.ImageTag == "":
		return fail("MissingDigestAndTag", "Requested image must have either a digest or a tag")
	case id.ImageDigest != "" && !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(id.ImageDigest):
		return fail("InvalidImageDigest", "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'")
	case id.ImageTag != "" && !tagRE.MatchString(id.ImageTag):
		return fail("InvalidImageTag", "Invalid request parameters: image tag should satisfy the regex")
	}
	digest := id.ImageDigest
	if id.ImageTag != "" {
		d, ok := r.tags[id.ImageTag]
		if !ok {
			return fail("ImageNotFound", "Requested image not found")
		}
		if digest != "" && d != digest {
			return fail("ImageTagDoesNotMatchDigest", "Invalid request parameters: given tag does not map to the given digest")
		}
		digest = d
	}
	img, ok := r.images[digest]
	if !ok {
		return fail("ImageNotFound", "Requested image not found")
	}
	return img, nil
}

func (s *Service) batchGetImage(ctx context.Context, in *batchGetImageInput) (*batchGetImageOutput, error) {
	if len(in.ImageIDs) == 0 || len(in.ImageIDs) > 100 {
		return nil, invalid("Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length between 1 and 100'")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	out := &batchGetImageOutput{Images: []Image{}, Failures: []ImageFailure{}}
	for _, id := range in.ImageIDs {
		img, fail := r.find(id)
		if fail != nil {
			out.Failures = append(out.Failures, *fail)
			continue
		}
		if len(in.AcceptedMediaTypes) > 0 && !contains(in.AcceptedMediaTypes, img.mediaType) {
			out.Failures = append(out.Failures, ImageFailure{ImageID: id, FailureCode: "UnsupportedImageType",
				FailureReason: fmt.Sprintf("Image of media type %s is not in acceptedMediaTypes", img.mediaType)})
			continue
		}
		out.Images = append(out.Images, Image{
			RegistryID: s.account, RepositoryName: r.RepositoryName,
			ImageID:       ImageIdentifier{ImageDigest: img.digest, ImageTag: id.ImageTag},
			ImageManifest: img.manifest, ImageManifestMediaType: img.mediaType,
		})
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

type imageFilter struct {
	TagStatus string `json:"tagStatus"`
}

type describeImagesInput struct {
	RegistryID     string            `json:"registryId"`
	RepositoryName string            `json:"repositoryName"`
	ImageIDs       []ImageIdentifier `json:"imageIds"`
	Filter         *imageFilter      `json:"filter"`
	NextToken      string            `json:"nextToken"`
	MaxResults     int               `json:"maxResults"`
}

type describeImagesOutput struct {
	ImageDetails []ImageDetail `json:"imageDetails"`
	NextToken    string        `json:"nextToken,omitempty"`
}

func (img *image) detail(s *Service, r *repository) ImageDetail {
	d := ImageDetail{
		RegistryID: s.account, RepositoryName: r.RepositoryName, ImageDigest: img.digest,
		ImageSizeInBytes: img.size, ImagePushedAt: img.pushedAt, ImageManifestMediaType: img.mediaType,
		ImageTags: sortedKeys(img.tags),
	}
	if img.mediaType == MediaTypeDockerManifest || img.mediaType == MediaTypeOCIManifest {
		d.ArtifactMediaType = mediaTypeDockerConfig
	}
	return d
}

// imagePage reads the paging arguments DescribeImages and ListImages share:
// which images to keep, how many per page, and the sequence to start after.
func imagePage(f *imageFilter, maxResults int, token string) (keep func(*image) bool, limit int, after int64, err error) {
	if keep, err = tagStatusFilter(f); err != nil {
		return nil, 0, 0, err
	}
	if limit, err = pageSize(maxResults, 100); err != nil {
		return nil, 0, 0, err
	}
	if after, err = decodeSeq(token); err != nil {
		return nil, 0, 0, err
	}
	return keep, limit, after, nil
}

func tagStatusFilter(f *imageFilter) (func(*image) bool, error) {
	status := ""
	if f != nil {
		status = f.TagStatus
	}
	switch status {
	case "", "ANY":
		return func(*image) bool { return true }, nil
	case "TAGGED":
		return func(i *image) bool { return len(i.tags) > 0 }, nil
	case "UNTAGGED":
		return func(i *image) bool { return len(i.tags) == 0 }, nil
	}
	return nil, invalid("Invalid parameter at 'filter.tagStatus': %q is not TAGGED, UNTAGGED or ANY", status)
}

func (s *Service) describeImages(ctx context.Context, in *describeImagesInput) (*describeImagesOutput, error) {
	if len(in.ImageIDs) > 0 && (in.MaxResults != 0 || in.NextToken != "" || in.Filter != nil) {
		return nil, invalid("maxResults, nextToken and filter cannot be used with imageIds")
	}
	keep, limit, after, err := imagePage(in.Filter, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	out := &describeImagesOutput{ImageDetails: []ImageDetail{}}
	if len(in.ImageIDs) > 0 {
		for _, id := range in.ImageIDs {
			img, fail := r.find(id)
			if fail != nil {
				if fail.FailureCode == "ImageNotFound" {
					return nil, awsproto.Errorf("ImageNotFoundException",
						"The image with imageId {imageDigest:'%s', imageTag:'%s'} does not exist within the repository with name '%s' in the registry with id '%s'",
						id.ImageDigest, id.ImageTag, r.RepositoryName, s.account)
				}
				return nil, invalid("%s", fail.FailureReason)
			}
			out.ImageDetails = append(out.ImageDetails, img.detail(s, r))
		}
		return out, nil
	}
	for _, img := range r.images.sortedAfter(after, keep) {
		if len(out.ImageDetails) == limit {
			out.NextToken = encodeToken(seqKey(lastSeq(out.ImageDetails, r)))
			break
		}
		out.ImageDetails = append(out.ImageDetails, img.detail(s, r))
	}
	return out, nil
}

type imageMap map[string]*image

// sortedAfter lists images in push order after sequence number after.
func (m imageMap) sortedAfter(after int64, keep func(*image) bool) []*image {
	var imgs []*image
	for _, img := range m {
		if img.seq > after && keep(img) {
			imgs = append(imgs, img)
		}
	}
	sort.Slice(imgs, func(i, j int) bool { return imgs[i].seq < imgs[j].seq })
	return imgs
}

func lastSeq(details []ImageDetail, r *repository) int64 {
	return r.images[details[len(details)-1].ImageDigest].seq
}

func decodeSeq(tok string) (int64, error) {
	s, err := decodeToken(tok)
	if err != nil || s == "" {
		return 0, err
	}
	n, perr := strconv.ParseInt(s, 10, 64)
	if perr != nil || n < 0 {
		return 0, invalid("Invalid parameter at 'nextToken' failed to satisfy constraint: 'invalid pagination token'")
	}
	return n, nil
}

type listImagesInput struct {
	RegistryID     string       `json:"registryId"`
	RepositoryName string       `json:"repositoryName"`
	Filter         *imageFilter `json:"filter"`
	NextToken      string       `json:"nextToken"`
	MaxResults     int          `json:"maxResults"`
}

type listImagesOutput struct {
	ImageIDs  []ImageIdentifier `json:"imageIds"`
	NextToken string            `json:"nextToken,omitempty"`
}

// listImages lists one id per tag (an untagged image: its digest alone),
// paging by image.
func (s *Service) listImages(ctx context.Context, in *listImagesInput) (*listImagesOutput, error) {
	keep, limit, after, err := imagePage(in.Filter, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	out := &listImagesOutput{ImageIDs: []ImageIdentifier{}}
	var last int64
	for i, img := range r.images.sortedAfter(after, keep) {
		if i == limit {
			out.NextToken = encodeToken(seqKey(last))
			break
		}
		last = img.seq
		if len(img.tags) == 0 {
			out.ImageIDs = append(out.ImageIDs, ImageIdentifier{ImageDigest: img.digest})
		}
		for _, t := range sortedKeys(img.tags) {
			out.ImageIDs = append(out.ImageIDs, ImageIdentifier{ImageDigest: img.digest, ImageTag: t})
		}
	}
	return out, nil
}
