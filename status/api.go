package status

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// maxBody bounds a PUT body: {"status": "down"} is 18 bytes.
const maxBody = 4096

// Register mounts the status API, the page and the probes on mux:
//
//	GET /api/v1/zones                   the zones served
//	GET /api/v1/records/{fqdn}          every RRset at a name, dynamic ones with live state
//	GET /api/v1/explain?name=&type=&client=  how a client is answered
//	GET /api/v1/values/{address}/status the override of a value and where it is used
//	PUT /api/v1/values/{address}/status {"status": "up"|"down"|"obey"} (Bearer token)
//	GET /api/v1/overrides               every override in force
//	GET /api/v1/events                  recent transitions, overrides, reloads
//	GET /healthz, /readyz               liveness and readiness
//
// The status page (ServePage) is mounted by the caller at GET /.
func (s *Sources) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/zones", s.getZones)
	mux.HandleFunc("GET /api/v1/records/{fqdn}", s.getRecords)
	mux.HandleFunc("GET /api/v1/explain", s.getExplain)
	mux.HandleFunc("GET /api/v1/values/{address}/status", s.getValue)
	mux.HandleFunc("PUT /api/v1/values/{address}/status", s.putValue)
	mux.HandleFunc("GET /api/v1/overrides", s.getOverrides)
	mux.HandleFunc("GET /api/v1/events", s.getEvents)
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
}

// SetToken sets the bearer token that PUT requests must carry; "" refuses
// every write. It may change on a config reload.
func (s *Sources) SetToken(token string) { s.token.Store(&token) }

// apiError is every error's body.
type apiError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, apiError{Error: fmt.Sprintf(format, args...)})
}

func (s *Sources) getZones(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Zones())
}

func (s *Sources) getRecords(w http.ResponseWriter, r *http.Request) {
	out, err := s.Records(r.PathValue("fqdn"))
	var le *lookupError
	if errors.As(err, &le) {
		writeError(w, le.status, "%s", le.msg)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sources) getExplain(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name, typ, client := q.Get("name"), q.Get("type"), q.Get("client")
	if name == "" || client == "" {
		writeError(w, http.StatusBadRequest, "name and client are required: /api/v1/explain?name=www.example.com&type=A&client=192.0.2.1")
		return
	}
	if _, ok := mdns.IsDomainName(name); !ok {
		writeError(w, http.StatusBadRequest, "name: %q is not a domain name", name)
		return
	}
	qtype := mdns.TypeA
	if typ != "" {
		t, ok := mdns.StringToType[strings.ToUpper(typ)]
		if !ok {
			writeError(w, http.StatusBadRequest, "type: unknown type %q", typ)
			return
		}
		qtype = t
	}
	c, err := ParseClient(client)
	if err != nil {
		writeError(w, http.StatusBadRequest, "client: %v", err)
		return
	}
	e, err := Explain(s.snapshot(), s.Geo, s.state(), time.Now(), c, strings.ToLower(name), qtype)
	if err != nil {
		writeError(w, http.StatusBadRequest, "name: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

// ValueStatus is GET and PUT /api/v1/values/{address}/status.
type ValueStatus struct {
	Value string `json:"value"`
	// Status is the override in force: up, down, or obey for none.
	Status string `json:"status"`
	// Previous is what it was before this PUT.
	Previous string `json:"previous,omitempty"`
	// Uses are the pools of dynamic records the value is in.
	Uses []ValueUse `json:"uses"`
}

func (s *Sources) getValue(w http.ResponseWriter, r *http.Request) {
	value, ok := CanonicalValue(r.PathValue("address"))
	if !ok {
		writeError(w, http.StatusBadRequest, "%q is neither an IP address nor a host name", r.PathValue("address"))
		return
	}
	st := "obey"
	if o, ok := s.overrides()[value]; ok {
		st = o.String()
	}
	uses := s.Uses(value)
	if len(uses) == 0 && st == "obey" {
		writeError(w, http.StatusNotFound, "%s is not a value of any dynamic record served", value)
		return
	}
	writeJSON(w, http.StatusOK, ValueStatus{Value: value, Status: st, Uses: uses})
}

// putValue sets a runtime override. Checks run in an order that tells a
// caller without the token nothing about the values served.
func (s *Sources) putValue(w http.ResponseWriter, r *http.Request) {
	token := ""
	if p := s.token.Load(); p != nil {
		token = *p
	}
	if token == "" {
		writeError(w, http.StatusForbidden, "writes are disabled: set api.token in the config to allow them")
		return
	}
	auth := r.Header.Get("Authorization")
	scheme, got, _ := strings.Cut(auth, " ")
	if auth == "" || !strings.EqualFold(scheme, "Bearer") {
		w.Header().Set("WWW-Authenticate", `Bearer realm="smartdns"`)
		writeError(w, http.StatusUnauthorized, "missing Authorization: Bearer <api.token>")
		return
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="smartdns", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "the bearer token is not api.token")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		// curl -d sends a form type: the body is read as JSON all the same,
		// rather than failing an operator's first try.
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" && mt != "application/x-www-form-urlencoded" {
			writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json, got %q", ct)
			return
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading the body: %v", err)
		return
	}
	if len(body) > maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "the body is larger than %d bytes", maxBody)
		return
	}
	var req struct {
		Status *string `json:"status"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "body: %v (want {\"status\": \"up\"|\"down\"|\"obey\"})", err)
		return
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "body: one JSON object expected")
		return
	}
	if req.Status == nil {
		writeError(w, http.StatusBadRequest, "body: status is required: up, down or obey")
		return
	}
	st := *req.Status
	if st != "up" && st != "down" && st != "obey" {
		writeError(w, http.StatusBadRequest, "status: %q is not up, down or obey", st)
		return
	}
	value, ok := CanonicalValue(r.PathValue("address"))
	if !ok {
		writeError(w, http.StatusBadRequest, "%q is neither an IP address nor a host name", r.PathValue("address"))
		return
	}
	uses := s.Uses(value)
	if len(uses) == 0 && st != "obey" {
		// A typo at 3 a.m. must not look like it worked. Clearing stays
		// possible for values no zone has any more.
		writeError(w, http.StatusNotFound, "%s is not a value of any dynamic record served", value)
		return
	}
	prev, err := s.SetOverride(value, st)
	if err != nil {
		s.logger().Error("override not applied", "value", value, "status", st, "err", err)
		writeError(w, http.StatusInternalServerError, "override not applied: %v", err)
		return
	}
	s.logger().Warn("override set", "value", value, "status", st, "previous", prev, "from", r.RemoteAddr)
	text := fmt.Sprintf("%s: %s (was %s)", value, st, prev)
	if st != "obey" {
		text = fmt.Sprintf("%s: override %s (was %s)", value, st, prev)
	}
	s.Events.Add(Event{Kind: "override", Subject: value, Text: text})
	writeJSON(w, http.StatusOK, ValueStatus{Value: value, Status: st, Previous: prev, Uses: uses})
}

func (s *Sources) getOverrides(w http.ResponseWriter, r *http.Request) {
	out := map[string]string{}
	for v, st := range s.overrides() {
		out[v] = st.String()
	}
	writeJSON(w, http.StatusOK, map[string]any{"overrides": out})
}

func (s *Sources) getEvents(w http.ResponseWriter, r *http.Request) {
	ev := s.Events.Recent()
	if ev == nil {
		ev = []Event{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": ev})
}

func (s *Sources) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, "ok\n")
}

func (s *Sources) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.Ready != nil && !s.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "not ready: starting, shutting down, or no zone loaded\n")
		return
	}
	io.WriteString(w, "ready\n")
}
