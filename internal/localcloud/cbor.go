package localcloud

import (
	"net/http"

	"github.com/pushdeploy/pushdeploy/internal/localcloud/awsproto"
)

// serveCBOR serves Smithy RPC v2 CBOR (CloudWatch). TODO(cloudwatch helper):
// decode the CBOR body to JSON for the service and encode its output back.
func (s *Server) serveCBOR(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("smithy-protocol", "rpc-v2-cbor")
	writeJSONError(w, "application/json", &awsproto.Error{Type: "UnknownOperationException", Message: "Smithy RPC v2 CBOR is not served yet: " + r.URL.Path})
}
