package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// manifests are the decoded objects of deploy/kubernetes, one of each kind.
type manifests struct {
	deployment    *appsv1.Deployment
	service       *corev1.Service
	configMap     *corev1.ConfigMap
	pdb           *policyv1.PodDisruptionBudget
	networkPolicy *networkingv1.NetworkPolicy
}

// decodeObjects decodes YAML documents strictly into the Kubernetes API
// types: an unknown or misspelt field, a wrong type, a duplicate key or an
// unknown kind is an error, as the API server's strict validation would make
// it. It needs no cluster.
func decodeObjects(t *testing.T, name string, data []byte) (m manifests, ids []string) {
	t.Helper()
	for i, doc := range splitDocuments(data) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatalf("%s document %d: %v", name, i, err)
		}
		var obj any
		switch tm.APIVersion + " " + tm.Kind {
		case "apps/v1 Deployment":
			m.deployment = &appsv1.Deployment{}
			obj = m.deployment
		case "v1 Service":
			m.service = &corev1.Service{}
			obj = m.service
		case "v1 ConfigMap":
			m.configMap = &corev1.ConfigMap{}
			obj = m.configMap
		case "policy/v1 PodDisruptionBudget":
			m.pdb = &policyv1.PodDisruptionBudget{}
			obj = m.pdb
		case "networking.k8s.io/v1 NetworkPolicy":
			m.networkPolicy = &networkingv1.NetworkPolicy{}
			obj = m.networkPolicy
		default:
			t.Fatalf("%s document %d: unexpected %s %s", name, i, tm.APIVersion, tm.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			t.Fatalf("%s document %d (%s): %v", name, i, tm.Kind, err)
		}
		var om struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		yaml.Unmarshal(doc, &om)
		ids = append(ids, tm.Kind+"/"+om.Metadata.Name)
	}
	return m, ids
}

// splitDocuments splits a YAML stream at "---" lines, dropping empty documents.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	flush := func() {
		if len(bytes.TrimSpace(stripComments(cur.Bytes()))) > 0 {
			docs = append(docs, bytes.Clone(cur.Bytes()))
		}
		cur.Reset()
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if strings.TrimRight(sc.Text(), " ") == "---" {
			flush()
			continue
		}
		cur.Write(sc.Bytes())
		cur.WriteByte('\n')
	}
	flush()
	return docs
}

func stripComments(doc []byte) []byte {
	var out bytes.Buffer
	for line := range bytes.Lines(doc) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out.Write(line)
		}
	}
	return out.Bytes()
}

// loadManifests decodes every file the kustomization lists, and fails if a
// YAML file in the directory is not listed (it would not be applied).
func loadManifests(t *testing.T) (manifests, []string) {
	t.Helper()
	var k struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Resources  []string `json:"resources"`
	}
	data, err := os.ReadFile("kubernetes/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, &k); err != nil || k.Kind != "Kustomization" {
		t.Fatalf("kustomization.yaml: %v (kind %q)", err, k.Kind)
	}
	files, _ := filepath.Glob("kubernetes/*.yaml")
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" && !slices.Contains(k.Resources, b) {
			t.Errorf("%s is not listed in kustomization.yaml", f)
		}
	}
	var all manifests
	var ids []string
	for _, r := range k.Resources {
		data, err := os.ReadFile(filepath.Join("kubernetes", r))
		if err != nil {
			t.Fatal(err)
		}
		m, got := decodeObjects(t, r, data)
		ids = append(ids, got...)
		all = merge(all, m)
	}
	return all, ids
}

func merge(a, b manifests) manifests {
	if b.deployment != nil {
		a.deployment = b.deployment
	}
	if b.service != nil {
		a.service = b.service
	}
	if b.configMap != nil {
		a.configMap = b.configMap
	}
	if b.pdb != nil {
		a.pdb = b.pdb
	}
	if b.networkPolicy != nil {
		a.networkPolicy = b.networkPolicy
	}
	return a
}

func TestKubernetesManifests(t *testing.T) {
	m, _ := loadManifests(t)
	if m.deployment == nil || m.service == nil || m.configMap == nil || m.pdb == nil || m.networkPolicy == nil {
		t.Fatalf("want a Deployment, Service, ConfigMap, PodDisruptionBudget and NetworkPolicy; got %+v", m)
	}
	d := m.deployment
	pod := d.Spec.Template
	podLabels := pod.Labels
	matches := func(what string, sel *metav1.LabelSelector) {
		t.Helper()
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil || s.Empty() || !s.Matches(labels.Set(podLabels)) {
			t.Errorf("%s selector %v does not select the pods %v (%v)", what, sel, podLabels, err)
		}
	}
	matches("Deployment", d.Spec.Selector)
	matches("PodDisruptionBudget", m.pdb.Spec.Selector)
	matches("NetworkPolicy", &m.networkPolicy.Spec.PodSelector)
	if len(m.service.Spec.Selector) == 0 || !labels.SelectorFromSet(m.service.Spec.Selector).Matches(labels.Set(podLabels)) {
		t.Errorf("Service selector %v does not select the pods %v", m.service.Spec.Selector, podLabels)
	}

	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Fatalf("replicas = %v, want 2", ptrString(d.Spec.Replicas))
	}
	if mu := m.pdb.Spec.MinAvailable; mu == nil || mu.IntValue() < 1 || int32(mu.IntValue()) >= *d.Spec.Replicas {
		t.Errorf("PodDisruptionBudget minAvailable = %v: want at least 1 and fewer than the replicas, so drains can proceed", mu)
	}

	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("containers = %d, want 1", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	psc := pod.Spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("pod securityContext %+v: want runAsNonRoot and a non-zero runAsUser", psc)
	} else if want := imageUser(t); *psc.RunAsUser != want {
		t.Errorf("runAsUser = %d, want the image's USER %d", *psc.RunAsUser, want)
	}
	if psc != nil && (psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault) {
		t.Errorf("pod seccompProfile %+v, want RuntimeDefault", psc.SeccompProfile)
	}
	if a := pod.Spec.AutomountServiceAccountToken; a == nil || *a {
		t.Error("automountServiceAccountToken must be false: serve never calls the Kubernetes API")
	}
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Error("container has no securityContext")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("allowPrivilegeEscalation must be false")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("readOnlyRootFilesystem must be true")
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0:
		t.Errorf("capabilities %+v: want drop [ALL], add none", sc.Capabilities)
	case sc.Privileged != nil && *sc.Privileged:
		t.Error("privileged")
	}

	// Probes: readiness on /readyz, liveness on /healthz, both on the
	// named port the Service targets.
	var port corev1.ContainerPort
	for _, p := range c.Ports {
		if p.Name == "http" {
			port = p
		}
	}
	if port.ContainerPort == 0 {
		t.Fatalf("container ports %+v: want one named http", c.Ports)
	}
	probe := func(what string, p *corev1.Probe, path string) {
		t.Helper()
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || p.HTTPGet.Port != intstr.FromString("http") {
			t.Errorf("%s probe %+v: want GET %s on port http", what, p, path)
		}
	}
	probe("readiness", c.ReadinessProbe, "/readyz")
	probe("liveness", c.LivenessProbe, "/healthz")
	if sp := m.service.Spec.Ports; len(sp) != 1 || sp[0].TargetPort != intstr.FromString("http") {
		t.Errorf("Service ports %+v: want one targeting port http", sp)
	}
	if np := m.networkPolicy.Spec.Ingress; len(np) == 0 || len(np[0].From) == 0 {
		t.Errorf("NetworkPolicy ingress %+v: want rules naming who may call", np)
	}

	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := c.Resources.Requests[r]; !ok || q.IsZero() {
			t.Errorf("no %s request", r)
		}
	}
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok || q.Cmp(c.Resources.Requests[corev1.ResourceMemory]) < 0 {
		t.Errorf("memory limit %v: want one, at least the request", q.String())
	}

	// The config: the ConfigMap mounted as a directory (a subPath mount is
	// never refreshed, so reloads would silently stop) at the path serve reads.
	args := strings.Join(c.Args, " ")
	if !strings.Contains(args, "--config /etc/tenantjwt/config.yaml") || !strings.Contains(args, fmt.Sprintf("--listen :%d", port.ContainerPort)) {
		t.Errorf("args %q: want --config /etc/tenantjwt/config.yaml and --listen :%d", args, port.ContainerPort)
	}
	var mount *corev1.VolumeMount
	for i := range c.VolumeMounts {
		if c.VolumeMounts[i].MountPath == "/etc/tenantjwt" {
			mount = &c.VolumeMounts[i]
		}
	}
	if mount == nil || mount.SubPath != "" || mount.SubPathExpr != "" || !mount.ReadOnly {
		t.Fatalf("volume mounts %+v: want the config directory /etc/tenantjwt, read-only, without subPath", c.VolumeMounts)
	}
	var vol *corev1.Volume
	for i := range pod.Spec.Volumes {
		if pod.Spec.Volumes[i].Name == mount.Name {
			vol = &pod.Spec.Volumes[i]
		}
	}
	if vol == nil || vol.ConfigMap == nil || vol.ConfigMap.Name != m.configMap.Name || len(vol.ConfigMap.Items) != 0 {
		t.Fatalf("volume %+v: want the whole ConfigMap %s", vol, m.configMap.Name)
	}
	cfg, ok := m.configMap.Data["config.yaml"]
	if !ok {
		t.Fatalf("ConfigMap %s has no config.yaml", m.configMap.Name)
	}
	var serveConfig struct {
		Issuers     []map[string]any `json:"issuers"`
		ForwardAuth map[string]any   `json:"forward_auth"`
	}
	if err := yaml.Unmarshal([]byte(cfg), &serveConfig); err != nil || len(serveConfig.Issuers) == 0 || serveConfig.ForwardAuth == nil {
		t.Errorf("config.yaml: %v; want issuers and forward_auth", err)
	}
}

// TestKubectlKustomize renders the directory with kubectl's built-in
// kustomize, offline, as `kubectl apply -k deploy/kubernetes` would, and
// decodes the result strictly.
func TestKubectlKustomize(t *testing.T) {
	kubectl := requireBinary(t, "kubectl")
	cmd := exec.Command(kubectl, "kustomize", "kubernetes")
	// An empty kubeconfig: nothing here may reach for a cluster.
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v\n%s", err, stderr.String())
	}
	_, got := decodeObjects(t, "kubectl kustomize output", out)
	_, want := loadManifests(t)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("kubectl kustomize rendered %v, want %v", got, want)
	}
}

// imageUser is the numeric user of the Dockerfile's USER line.
func imageUser(t *testing.T) int64 {
	t.Helper()
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "USER "); ok {
			user, _, _ := strings.Cut(strings.TrimSpace(rest), ":")
			var uid int64
			if _, err := fmt.Sscan(user, &uid); err != nil {
				t.Fatalf("Dockerfile USER %q is not numeric", rest)
			}
			return uid
		}
	}
	t.Fatal("Dockerfile has no USER line")
	return 0
}

func ptrString[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}
