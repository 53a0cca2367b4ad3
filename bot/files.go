package bot

import (
	"regexp"
	"slices"
	"strings"

	"github.com/cippbot/cippbot/actions"
)

// userColumns are the CSV headers that name the user column, lower case.
var userColumns = []string{"userprincipalname", "upn", "user", "mail", "email", "username"}

// usersFromFiles reads the users listed in attachments: a CSV whose header
// has a user column (userPrincipalName, UPN, mail…), or otherwise the
// first field of every non-empty line. Blank lines and lines starting with
// # are skipped.
func usersFromFiles(files []File) ([]string, error) {
	var out []string
	for _, f := range files {
		if err := checkSize(f); err != nil {
			return nil, err
		}
		rows, err := actions.File{Name: f.Name, Data: f.Data}.Records()
		if err != nil {
			return nil, actions.Errorf(actions.EINVALID, "%s is not a readable list: %v", f.Name, err)
		}
		col := 0
		if len(rows) > 0 {
			for i, h := range rows[0] {
				if slices.Contains(userColumns, strings.ToLower(strings.TrimSpace(h))) {
					col, rows = i, rows[1:]
					break
				}
			}
		}
		for n, row := range rows {
			if col >= len(row) {
				return nil, actions.Errorf(actions.EINVALID, "%s line %d has no user column", f.Name, n+1)
			}
			if v := strings.TrimSpace(row[col]); v != "" {
				if !userShaped(v) {
					// Never quoted: a file that is not a list of users
					// (a key file, /etc/passwd) must not reach a reply.
					return nil, actions.Errorf(actions.EINVALID,
						"%s entry %d is not a user (user@domain, or a name in a bound channel); its contents are not shown", f.Name, n+1)
				}
				out = append(out, v)
			}
		}
	}
	if len(files) > 0 && len(out) == 0 {
		return nil, actions.Errorf(actions.EINVALID, "the attached file lists no users")
	}
	return out, nil
}

// userShape is a user address (user@domain) or a bare name, as a file of
// users lists them.
var userShape = regexp.MustCompile(`^[A-Za-z0-9!#^~'._-]{1,64}(@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)?$`)

// userShaped reports whether v looks like a user: anything else read from a
// file is refused without being repeated.
func userShaped(v string) bool { return userShape.MatchString(v) }

// withFileTargets adds the users listed in ev's files to cmd: addresses as
// targets, bare names as positional words ahead of the typed ones.
func withFileTargets(cmd Command, files []File) (Command, error) {
	users, err := usersFromFiles(files)
	if err != nil || len(users) == 0 {
		return cmd, err
	}
	var bare []string
	for _, u := range users {
		if strings.Contains(u, "@") {
			cmd.Targets = append(cmd.Targets, u)
		} else {
			bare = append(bare, u)
		}
	}
	cmd.Positional = append(bare, cmd.Positional...)
	return cmd, nil
}

// actionFiles reads the attached files with the action's own reader
// (FromFile), within the bounds every request has.
func actionFiles(a *actions.Action, files []File) ([]string, actions.Params, error) {
	fs := make([]actions.File, len(files))
	for i, f := range files {
		if err := checkSize(f); err != nil {
			return nil, nil, err
		}
		fs[i] = actions.File{Name: f.Name, Data: f.Data}
	}
	targets, p, err := a.FromFile(fs)
	if err != nil {
		return nil, nil, err
	}
	if len(targets) > maxTargets {
		return nil, nil, actions.Errorf(actions.EINVALID, "at most %d users per request", maxTargets)
	}
	return targets, p, nil
}

// checkSize refuses a file larger than adapters accept, should one get
// through.
func checkSize(f File) error {
	if len(f.Data) > MaxFileSize {
		return actions.Errorf(actions.EINVALID, "%s is larger than %d KiB", f.Name, MaxFileSize/1024)
	}
	return nil
}
