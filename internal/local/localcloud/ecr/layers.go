package ecr

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

// Layers: PutImage of an image manifest (Docker v2 or OCI) refuses one whose
// config or layers were never uploaded to the repository, as ECR does
// (LayersNotFoundException). Blobs reach a repository as `docker push` sends
// them: InitiateLayerUpload, UploadLayerPart in order, CompleteLayerUpload
// with the digest of what was sent; BatchCheckLayerAvailability reports
// them. Only a blob's digest and size are kept. Manifest lists and OCI
// indexes are not checked for the manifests they name.
//
// The one leniency is for Go callers, never over the API: SeedLayers (and
// PushImage, which uses it) records a manifest's blobs as uploaded.

// maxLayerPart is the partSize InitiateLayerUpload advertises.
const maxLayerPart = 20 << 20

type upload struct {
	repo   *repository
	sum    hash.Hash
	length int64
}

type layer struct {
	size      int64
	mediaType string
}

// Blobs returns the config and layer blobs of Manifest(seed), in the
// manifest's order: what a client uploads before it puts that manifest.
func Blobs(seed string) [][]byte {
	return [][]byte{[]byte("config:" + seed), []byte("layer0:" + seed), []byte("layer1:" + seed)}
}

// manifestBlobs lists the config and layer digests an image manifest names
// (none for a list or index).
func manifestBlobs(manifest string) []layerRef {
	var m struct {
		Config *layerRef  `json:"config"`
		Layers []layerRef `json:"layers"`
	}
	if json.Unmarshal([]byte(manifest), &m) != nil {
		return nil
	}
	var out []layerRef
	if m.Config != nil {
		out = append(out, *m.Config)
	}
	return append(out, m.Layers...)
}

type layerRef struct {
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
	MediaType string `json:"mediaType"`
}

// missingLayers returns the digests the manifest names that r does not hold;
// the caller holds mu.
func missingLayers(r *repository, manifest string) []string {
	var missing []string
	for _, l := range manifestBlobs(manifest) {
		if _, ok := r.layers[l.Digest]; !ok {
			missing = append(missing, l.Digest)
		}
	}
	return missing
}

// SeedLayers records the blobs manifest names as uploaded to repo, as if a
// client had uploaded them: the Go-only shortcut for tests and scenarios.
func (s *Service) SeedLayers(ctx context.Context, repo string, manifest []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(ctx, "", repo)
	if err != nil {
		return fmt.Errorf("seed layers of %s: %w", repo, err)
	}
	for _, l := range manifestBlobs(string(manifest)) {
		r.layers[l.Digest] = layer{size: l.Size, mediaType: l.MediaType}
	}
	return nil
}

type repoInput struct {
	RegistryID     string `json:"registryId"`
	RepositoryName string `json:"repositoryName"`
}

func (s *Service) initiateLayerUpload(ctx context.Context, in *repoInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	id := newID()
	s.uploads[id] = &upload{repo: r, sum: sha256.New()}
	return map[string]any{"uploadId": id, "partSize": maxLayerPart}, nil
}

// upload finds an upload in progress of the repository (s.mu held).
func (s *Service) upload(ctx context.Context, registryID, repoName, id string) (*repository, *upload, error) {
	r, err := s.repo(ctx, registryID, repoName)
	if err != nil {
		return nil, nil, err
	}
	u, ok := s.uploads[id]
	if !ok || u.repo != r {
		return nil, nil, awsproto.Errorf("UploadNotFoundException", "The upload with id '%s' does not exist in the repository with name '%s'", id, repoName)
	}
	return r, u, nil
}

func (s *Service) uploadLayerPart(ctx context.Context, in *struct {
	RegistryID     string `json:"registryId"`
	RepositoryName string `json:"repositoryName"`
	UploadID       string `json:"uploadId"`
	PartFirstByte  int64  `json:"partFirstByte"`
	PartLastByte   int64  `json:"partLastByte"`
	LayerPartBlob  []byte `json:"layerPartBlob"`
}) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, u, err := s.upload(ctx, in.RegistryID, in.RepositoryName, in.UploadID)
	if err != nil {
		return nil, err
	}
	if in.PartFirstByte != u.length || in.PartLastByte != in.PartFirstByte+int64(len(in.LayerPartBlob))-1 || len(in.LayerPartBlob) > maxLayerPart {
		return nil, awsproto.Errorf("InvalidLayerPartException",
			"The layer part with bytes %d-%d does not follow the %d bytes received for upload '%s'", in.PartFirstByte, in.PartLastByte, u.length, in.UploadID)
	}
	u.sum.Write(in.LayerPartBlob)
	u.length += int64(len(in.LayerPartBlob))
	return map[string]any{"registryId": s.account, "repositoryName": r.RepositoryName, "uploadId": in.UploadID, "lastByteReceived": u.length - 1}, nil
}

func (s *Service) completeLayerUpload(ctx context.Context, in *struct {
	RegistryID     string   `json:"registryId"`
	RepositoryName string   `json:"repositoryName"`
	UploadID       string   `json:"uploadId"`
	LayerDigests   []string `json:"layerDigests"`
}) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, u, err := s.upload(ctx, in.RegistryID, in.RepositoryName, in.UploadID)
	if err != nil {
		return nil, err
	}
	if u.length == 0 {
		return nil, awsproto.Errorf("EmptyUploadException", "The upload with id '%s' has no layer parts", in.UploadID)
	}
	digest := "sha256:" + hex.EncodeToString(u.sum.Sum(nil))
	if len(in.LayerDigests) != 1 || in.LayerDigests[0] != digest {
		return nil, awsproto.Errorf("InvalidLayerException", "The layer digest %v does not match the digest %s of the uploaded content", in.LayerDigests, digest)
	}
	delete(s.uploads, in.UploadID)
	if _, ok := r.layers[digest]; ok {
		return nil, awsproto.Errorf("LayerAlreadyExistsException", "The layer with digest '%s' already exists in the repository with name '%s'", digest, r.RepositoryName)
	}
	r.layers[digest] = layer{size: u.length}
	return map[string]any{"registryId": s.account, "repositoryName": r.RepositoryName, "uploadId": in.UploadID, "layerDigest": digest}, nil
}

func (s *Service) batchCheckLayerAvailability(ctx context.Context, in *struct {
	RegistryID     string   `json:"registryId"`
	RepositoryName string   `json:"repositoryName"`
	LayerDigests   []string `json:"layerDigests"`
}) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if len(in.LayerDigests) == 0 || len(in.LayerDigests) > 100 {
		return nil, invalid("Invalid parameter at 'layerDigests' failed to satisfy constraint: 'Member must have length between 1 and 100'")
	}
	layers, failures := []map[string]any{}, []map[string]any{}
	for _, d := range in.LayerDigests {
		l, ok := r.layers[d]
		if !ok {
			failures = append(failures, map[string]any{"layerDigest": d, "failureCode": "MissingLayerDigest", "failureReason": "Layer not found"})
			continue
		}
		out := map[string]any{"layerDigest": d, "layerAvailability": "AVAILABLE", "layerSize": l.size}
		if l.mediaType != "" {
			out["mediaType"] = l.mediaType
		}
		layers = append(layers, out)
	}
	return map[string]any{"layers": layers, "failures": failures}, nil
}
