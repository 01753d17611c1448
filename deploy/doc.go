// Package deploy holds the systemd units; its tests check them.
package deploy
