package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"muxlab/results"
)

// manifests decodes every document of deploy/k8s strictly into the
// official Kubernetes types: an unknown or duplicated field fails.
func manifests(t *testing.T) map[string]any {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "..", "deploy", "k8s", "*.yaml"))
	if len(files) != 3 {
		t.Fatalf("manifests %v", files)
	}
	out := map[string]any{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range strings.Split(string(data), "\n---\n") {
			var meta struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
				t.Fatalf("%s #%d: %v", f, i, err)
			}
			var obj any
			switch meta.Kind {
			case "Deployment":
				obj = &appsv1.Deployment{}
			case "Service":
				obj = &corev1.Service{}
			case "Job":
				obj = &batchv1.Job{}
			case "ConfigMap":
				obj = &corev1.ConfigMap{}
			case "PersistentVolumeClaim":
				obj = &corev1.PersistentVolumeClaim{}
			default:
				t.Fatalf("%s #%d: kind %q", f, i, meta.Kind)
			}
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Fatalf("%s #%d (%s): %v", f, i, meta.Kind, err)
			}
			out[meta.Kind+"/"+meta.Metadata.Name] = obj
		}
	}
	return out
}

// The manifests decode strictly, and what they tell muxlab is what muxlab
// accepts: the agents' arguments parse as bench flags, the agents are an
// Indexed Job started together, the Service reaches the server's ports, and
// the collector's pattern matches the agents' file names.
func TestK8sManifests(t *testing.T) {
	m := manifests(t)
	dep := m["Deployment/muxlab-server"].(*appsv1.Deployment)
	svc := m["Service/muxlab-server"].(*corev1.Service)
	ports := map[int32]bool{}
	for _, p := range dep.Spec.Template.Spec.Containers[0].Ports {
		ports[p.ContainerPort] = true
	}
	for _, p := range svc.Spec.Ports {
		if !ports[p.TargetPort.IntVal] {
			t.Errorf("the Service's port %s targets %v, not a server port", p.Name, p.TargetPort)
		}
	}
	job := m["Job/muxlab-agents"].(*batchv1.Job)
	if job.Spec.CompletionMode == nil || *job.Spec.CompletionMode != batchv1.IndexedCompletion ||
		*job.Spec.Completions != *job.Spec.Parallelism {
		t.Errorf("agents: %+v; want an Indexed Job whose agents all run at once", job.Spec)
	}
	cm := m["ConfigMap/muxlab-run"].(*corev1.ConfigMap)
	c := job.Spec.Template.Spec.Containers[0]
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		args[i] = strings.NewReplacer("$(JOB_COMPLETION_INDEX)", "0", "$(START_AT)", cm.Data["START_AT"]).Replace(a)
	}
	fs := newFlagSet("bench", os.Stderr)
	var f benchFlags
	f.define(fs)
	if args[0] != "bench" {
		t.Fatalf("agent args %v", args)
	}
	if err := parse(fs, args[1:]); err != nil {
		t.Fatalf("the agents' arguments: %v", err)
	}
	if !f.noTruth || f.agent != "agent-0" || f.out != "/results" {
		t.Errorf("agents: no-server-counts %v, agent %q, out %q", f.noTruth, f.agent, f.out)
	}
	if _, err := time.Parse(time.RFC3339, f.startAt); err != nil {
		t.Errorf("START_AT %q: %v", f.startAt, err)
	}
	col := m["Job/muxlab-collector"].(*batchv1.Job).Spec.Template.Spec.Containers[0]
	script := strings.Join(col.Args, " ")
	r := resultstestRun("agent-2")
	if ok, _ := filepath.Match("*-agent-*.json", results.FileName(r)); !ok || !strings.Contains(script, "muxlab merge /results/*-agent-*.json") {
		t.Errorf("the collector (%q) does not match the agents' file %s", script, results.FileName(r))
	}
}

func resultstestRun(agent string) *results.Run {
	r := results.NewRun("test", "go", results.Machine{}, time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	r.Scenario.Name, r.Agent = "page", agent
	return r
}
