package ecr_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecr"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/localtest"
)

// TestAWSCLI runs the machine's AWS CLI (an independent client) against the
// local ECR.
func TestAWSCLI(t *testing.T) {
	localtest.NeedAWSCLI(t)
	e := newEnv(t)
	run := localtest.CLI(t, e.url, "ecr")
	run("create-repository", "--repository-name", "cli/web")
	manifest := ecr.Manifest("cli")
	out, err := localtest.TryAWSCLI(t, e.url, "ecr", "put-image", "--repository-name", "cli/web", "--image-tag", "v1", "--image-manifest", string(manifest))
	if err == nil || !strings.Contains(string(out), "LayersNotFoundException") {
		t.Fatalf("put-image before the layers: %v %s", err, out)
	}
	// The blobs, as docker push uploads them.
	dir := t.TempDir()
	for i, b := range ecr.Blobs("cli") {
		file := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
		var up struct {
			UploadID string `json:"uploadId"`
		}
		if err := json.Unmarshal(run("initiate-layer-upload", "--repository-name", "cli/web"), &up); err != nil {
			t.Fatal(err)
		}
		run("upload-layer-part", "--repository-name", "cli/web", "--upload-id", up.UploadID, "--part-first-byte", "0",
			"--part-last-byte", fmt.Sprint(len(b)-1), "--layer-part-blob", "fileb://"+file)
		run("complete-layer-upload", "--repository-name", "cli/web", "--upload-id", up.UploadID, "--layer-digests", ecr.Digest(b))
	}
	var put struct {
		Image struct {
			ImageID struct{ ImageDigest string } `json:"imageId"`
		} `json:"image"`
	}
	if err := json.Unmarshal(run("put-image", "--repository-name", "cli/web", "--image-tag", "v1", "--image-manifest", string(manifest)), &put); err != nil {
		t.Fatal(err)
	}
	if put.Image.ImageID.ImageDigest != ecr.Digest(manifest) {
		t.Errorf("put-image digest = %s, want %s", put.Image.ImageID.ImageDigest, ecr.Digest(manifest))
	}
	var desc struct {
		ImageDetails []struct {
			ImageDigest string   `json:"imageDigest"`
			ImageTags   []string `json:"imageTags"`
		} `json:"imageDetails"`
	}
	if err := json.Unmarshal(run("describe-images", "--repository-name", "cli/web"), &desc); err != nil {
		t.Fatal(err)
	}
	if len(desc.ImageDetails) != 1 || desc.ImageDetails[0].ImageDigest != ecr.Digest(manifest) || len(desc.ImageDetails[0].ImageTags) != 1 {
		t.Errorf("describe-images = %+v", desc)
	}
	if n := len(e.events.Events()); n != 1 {
		t.Errorf("%d push events, want 1", n)
	}
}
