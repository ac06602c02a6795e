package recipe

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrUnknownEnv is matched (errors.Is) when an environment name is not one
// of the recipe's.
var ErrUnknownEnv = errors.New("unknown environment")

// DefaultEnvName names the single environment of a recipe with an [env]
// table and no name.
const DefaultEnvName = "default"

// EnvName is the name of the selected environment: Env.Name, or
// DefaultEnvName for an unnamed [env].
func (r *Recipe) EnvName() string {
	if r.Env.Name != "" {
		return r.Env.Name
	}
	return DefaultEnvName
}

// Named reports whether the recipe's environments are [[envs]] (named),
// rather than one [env] table.
func (r *Recipe) Named() bool { return len(r.Envs) > 0 }

// EnvNames lists the recipe's environments in recipe order: the names of
// its [[envs]], or the one [env].
func (r *Recipe) EnvNames() []string {
	if len(r.Envs) == 0 {
		return []string{r.EnvName()}
	}
	names := make([]string, len(r.Envs))
	for i, e := range r.Envs {
		names[i] = e.Name
	}
	return names
}

// InEnv reports whether artifact name is re-created in environment env:
// an artifact without envs is re-created in every environment; one with
// build follows its build.
func (r *Recipe) InEnv(name, env string) bool {
	a := r.Artifacts[r.BuildOwner(name)]
	if a == nil {
		return false
	}
	return len(a.Envs) == 0 || slices.Contains(a.Envs, env)
}

// ForEnv returns a copy of the recipe with environment name selected: Env
// is that environment, Artifacts and Accept keep only what applies to it.
// The copy shares the artifacts and inputs with r (read-only). An unknown
// name is ErrUnknownEnv, naming the recipe's environments.
func (r *Recipe) ForEnv(name string) (*Recipe, error) {
	names := r.EnvNames()
	i := slices.Index(names, name)
	if i < 0 {
		return nil, fmt.Errorf("%w %q: %s has %s", ErrUnknownEnv, name, r.ID(), strings.Join(names, ", "))
	}
	c := *r
	if len(r.Envs) > 0 {
		c.Env = r.Envs[i]
	}
	c.Artifacts = make(map[string]*Artifact, len(r.Artifacts))
	for n, a := range r.Artifacts {
		if r.InEnv(n, name) {
			c.Artifacts[n] = a
		}
	}
	c.Accept = nil
	for _, a := range r.Accept {
		if (a.Env == "" || a.Env == name) && (a.Artifact == "" || c.Artifacts[a.Artifact] != nil) {
			c.Accept = append(c.Accept, a)
		}
	}
	return &c, nil
}

// ForEnvs returns the recipe for each of its environments in recipe order
// (ForEnv of each), or for the one named when name is not empty.
func (r *Recipe) ForEnvs(name string) ([]*Recipe, error) {
	names := r.EnvNames()
	if name != "" {
		names = []string{name}
	}
	out := make([]*Recipe, 0, len(names))
	for _, n := range names {
		c, err := r.ForEnv(n)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// AsWritten returns the recipe as its file gives it: for a recipe with
// [[envs]], without the selected environment copied into Env (a file has
// [env] or [[envs]], not both).
func (r *Recipe) AsWritten() *Recipe {
	if !r.Named() {
		return r
	}
	c := *r
	c.Env = Env{}
	return &c
}

// envs validates [[envs]] and the environment names artifacts and accept
// entries give, then selects the first environment.
func (v *validator) envs(r *Recipe) {
	if len(r.Envs) == 0 {
		if r.Env.Image != "" || r.Env.Distro != "" || r.Env.Suite != "" || r.NeedsEnv() {
			v.env("env", &r.Env)
		}
		if r.Env.Name != "" && !envNameRE.MatchString(r.Env.Name) {
			v.errorf("env.name", "%q is not an environment name (lower-case letters, digits, . _ -)", r.Env.Name)
		}
		for _, n := range r.ArtifactNames() {
			if a := r.Artifacts[n]; a != nil && len(a.Envs) > 0 {
				v.errorf("artifacts."+n+".envs", "names environments, but the recipe has one [env]; name environments with [[envs]]")
			}
		}
		for i, a := range r.Accept {
			if a.Env != "" {
				v.errorf(fmt.Sprintf("accept[%d].env", i), "names an environment, but the recipe has one [env]; name environments with [[envs]]")
			}
		}
		return
	}
	if !r.Env.empty() {
		v.errorf("env", "give one [env] or several [[envs]], not both")
	}
	v.list("envs", len(r.Envs))
	seen := map[string]bool{}
	for i := range r.Envs {
		e := &r.Envs[i]
		k := fmt.Sprintf("envs[%d]", i)
		if v.required(k+".name", e.Name) {
			switch {
			case !envNameRE.MatchString(e.Name):
				v.errorf(k+".name", "%q is not an environment name (lower-case letters, digits, . _ -)", e.Name)
			case seen[e.Name]:
				v.errorf(k+".name", "environment %q is defined twice", e.Name)
			}
			seen[e.Name] = true
		}
		v.env(k, e)
	}
	for _, n := range r.ArtifactNames() {
		a := r.Artifacts[n]
		if a == nil {
			continue
		}
		if a.Build != "" && len(a.Envs) > 0 {
			v.errorf("artifacts."+n+".envs", "an artifact with build takes the environments of %s", a.Build)
		}
		if a.Method == MethodGitArchive && len(a.Envs) > 0 {
			v.errorf("artifacts."+n+".envs", "a git-archive artifact is re-created by verify-release itself, in no environment")
		}
		for _, e := range a.Envs {
			if !seen[e] {
				v.errorf("artifacts."+n+".envs", "%q is not one of the recipe's environments (%s)", e, strings.Join(r.EnvNames(), ", "))
			}
		}
	}
	for i, a := range r.Accept {
		if a.Env != "" && !seen[a.Env] {
			v.errorf(fmt.Sprintf("accept[%d].env", i), "%q is not one of the recipe's environments (%s)", a.Env, strings.Join(r.EnvNames(), ", "))
		}
		if a.Env != "" && a.Artifact != "" && r.Artifacts[a.Artifact] != nil && !r.InEnv(a.Artifact, a.Env) {
			v.errorf(fmt.Sprintf("accept[%d].env", i), "artifact %s is not re-created in environment %s", a.Artifact, a.Env)
		}
	}
	r.Env = r.Envs[0]
}

func (e *Env) empty() bool {
	return e.Name == "" && e.Image == "" && e.Distro == "" && e.Suite == "" && e.Snapshot == "" && len(e.Extra) == 0 &&
		e.Digest == "" && len(e.Setup) == 0 && len(e.Packages) == 0 && len(e.Tools) == 0 && e.User == "" &&
		len(e.CapAdd) == 0 && e.Umask == "" && e.Memory == "" && e.Timeout == ""
}
