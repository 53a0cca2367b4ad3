package fakegraph

import (
	"net/http"
	"strings"
)

// routeSites serves /sites/...; s.mu is held.
func (s *Server) routeSites(c *call) *reply {
	return segmentNotFound(c.segs[0])
}

// routeUserDrive serves /users/{id}/drive/...; s.mu is held.
func (s *Server) routeUserDrive(c *call) *reply {
	return segmentNotFound(c.segs[2])
}

// isSharePointPath reports whether segs address the SharePoint admin
// endpoint (/_vti_bin/client.svc/ProcessQuery).
func isSharePointPath(segs []string) bool {
	return len(segs) > 0 && strings.EqualFold(segs[0], "_vti_bin")
}

// serveSharePoint answers the SharePoint admin CSOM endpoint.
func (s *Server) serveSharePoint(w http.ResponseWriter, r *http.Request, segs []string, raw []byte, rec *Request) {
	rec.Body = raw
	http.NotFound(w, r)
}
