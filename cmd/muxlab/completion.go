package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"

	"muxlab/bench"
	"muxlab/link"
)

// flagName finds the long flags in a command's --help output, as pflag
// prints them ("  -o, --output string   ...").
var flagName = regexp.MustCompile(`(?m)^\s+(?:-\w, )?(--[a-z0-9][a-z0-9-]*)`)

// commandFlags are the long flags of the command, read from its own help:
// the completion can never list a flag the command does not have.
func commandFlags(ctx context.Context, c *command) []string {
	var buf bytes.Buffer
	c.run(ctx, []string{"--help"}, &buf, &buf) // errHelp: the usage is printed
	var out []string
	for _, m := range flagName.FindAllStringSubmatch(buf.String(), -1) {
		out = append(out, m[1])
	}
	return out
}

// flagValues are the values a flag takes, where muxlab knows them all.
func flagValues() map[string][]string {
	var scenarios, contenders []string
	for _, s := range bench.Scenarios() {
		scenarios = append(scenarios, s.Name)
	}
	contenders = bench.ContenderNames()
	return map[string][]string{
		"--net": link.ProfileNames(), "--scenario": scenarios, "--contenders": contenders,
		"--stack": {link.StackAuto, link.StackKernel, link.StackUserspace},
	}
}

func runCompletion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("completion", stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: muxlab completion bash|zsh|fish\n\n"+
			"  bash: source <(muxlab completion bash)          (or save it in /etc/bash_completion.d/muxlab)\n"+
			"  zsh:  source <(muxlab completion zsh)\n"+
			"  fish: muxlab completion fish > ~/.config/fish/completions/muxlab.fish")
	}
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if fs.NArg() != 1 {
		return usagef("completion: give one shell: bash, zsh or fish")
	}
	var names []string
	perCommand := map[string][]string{}
	for i := range commands {
		c := &commands[i]
		names = append(names, c.name)
		if c.name != "completion" && c.name != "version" {
			perCommand[c.name] = commandFlags(ctx, c)
		}
	}
	switch shell := fs.Arg(0); shell {
	case "bash":
		writeBash(stdout, names, perCommand)
	case "zsh":
		fmt.Fprintln(stdout, "# muxlab completion for zsh, through its bash completion support")
		fmt.Fprintln(stdout, "autoload -U +X bashcompinit && bashcompinit")
		writeBash(stdout, names, perCommand)
	case "fish":
		writeFish(stdout, names, perCommand)
	default:
		return usagef("completion: %q is not a shell muxlab completes; give bash, zsh or fish", shell)
	}
	return nil
}

func writeBash(w io.Writer, names []string, perCommand map[string][]string) {
	fmt.Fprintf(w, `# muxlab completion for bash: source <(muxlab completion bash)
_muxlab() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd=bench i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in -*) ;; *) cmd=${COMP_WORDS[i]}; break ;; esac
  done
  case $prev in
`)
	values := flagValues()
	for _, f := range []string{"--net", "--scenario", "--contenders", "--stack"} {
		fmt.Fprintf(w, "    %s) COMPREPLY=($(compgen -W %q -- \"$cur\")); return ;;\n", f, strings.Join(values[f], " "))
	}
	fmt.Fprintf(w, "  esac\n  if [[ $COMP_CWORD -eq 1 && $cur != -* ]]; then\n    COMPREPLY=($(compgen -W %q -- \"$cur\")); return\n  fi\n  case $cmd in\n",
		strings.Join(append(names, "help"), " "))
	for _, n := range names {
		if fl, ok := perCommand[n]; ok {
			fmt.Fprintf(w, "    %s) COMPREPLY=($(compgen -W %q -- \"$cur\")) ;;\n", n, strings.Join(fl, " "))
		}
	}
	fmt.Fprintf(w, "    help) COMPREPLY=($(compgen -W %q -- \"$cur\")) ;;\n  esac\n}\ncomplete -o default -F _muxlab muxlab\n", strings.Join(names, " "))
}

func writeFish(w io.Writer, names []string, perCommand map[string][]string) {
	fmt.Fprintln(w, "# muxlab completion for fish: muxlab completion fish > ~/.config/fish/completions/muxlab.fish")
	fmt.Fprintln(w, "complete -c muxlab -f")
	for i := range commands {
		c := &commands[i]
		fmt.Fprintf(w, "complete -c muxlab -n __fish_use_subcommand -a %s -d %s\n", c.name, fishQuote(c.summary))
	}
	values := flagValues()
	for _, n := range names {
		for _, f := range perCommand[n] {
			line := fmt.Sprintf("complete -c muxlab -n '__fish_seen_subcommand_from %s' -l %s", n, strings.TrimPrefix(f, "--"))
			if v, ok := values[f]; ok {
				line += " -x -a " + fishQuote(strings.Join(v, " "))
			}
			fmt.Fprintln(w, line)
		}
	}
}

func fishQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }
