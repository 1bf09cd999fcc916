# contrib/completions/pubgate.bash: bash completion for pubgate, installed
# as /usr/share/bash-completion/completions/pubgate.  The options are those
# of `pubgate COMMAND --help` (tests/cli/install.sh checks that they agree).
_pubgate()
{
	local cur prev cmd opts
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "scan policy serve log show approve waivers revoke db ca version help" -- "$cur"))
		return
	fi
	cmd=${COMP_WORDS[1]}
	case $prev in
	-f|--format)
		COMPREPLY=($(compgen -W "text json sarif" -- "$cur"))
		return ;;
	-p|--policy|--previous|-c|--config|--upstream-ca|--tls-cert|--tls-key|--db|-d|--ca-cert|--ca-key|-o|--out)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	esac
	case $cmd in
	scan)	opts="--policy --name --previous --json --reading --list --format --help" ;;
	policy)	opts="check --help" ;;
	serve)	opts="--config -n -v --listen --upstream --upstream-ca --policy
		    --tls-cert --tls-key --db --admin --workers --egress-listen --ca-cert
		    --ca-key --intercept --tunnel --help" ;;
	log)	opts="--db --blocked --since --package --scope --user --json --limit --help" ;;
	show)	opts="--db --json --cyclonedx --quarantine --help" ;;
	approve)	opts="--db --reason --by --expires --once --json --help" ;;
	waivers)	opts="--db --active --json --limit --help" ;;
	revoke)	opts="--db --reason --by --help" ;;
	db)	opts="migrate --db --help" ;;
	ca)	opts="init --out --name --days --permit --config --help" ;;
	help)	opts="scan policy serve log show approve waivers revoke db ca version --man" ;;
	*)	opts="" ;;
	esac
	if [ "${cur#-}" != "$cur" ] || [ "$cmd" = help ] ||
	    { [ "$COMP_CWORD" -eq 2 ] && { [ "$cmd" = policy ] || [ "$cmd" = ca ] || [ "$cmd" = db ]; }; }; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}
complete -F _pubgate pubgate
