// Package diag is the positioned problem type every reader of operator
// files shares (zone files in both formats, the server config, the agent
// config): a problem is "path:line:col: message", and a reader reports all
// the problems of a file, not only the first.
package diag
