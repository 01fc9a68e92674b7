// Package canonical derives the one request model a forward-auth check
// judges: the original request's method, scheme, host, port, path and
// query, in canonical form, or a refusal.
//
// A gateway and the API behind it must judge the same request. A rule
// such as "/admin needs the admin role" is only as good as the agreement
// between the string the rule is matched against and the path the
// upstream router finally serves. Routers decode escapes, merge or keep
// slashes, strip ";" parameters, resolve dot segments and fold case in
// different ways, so this package does not guess: it canonicalises what
// has one reading and refuses (ErrRequest, answered 400 invalid_request)
// what could be read two ways. Secure by default; Policy relaxes single
// rules for upstreams that need them.
//
//	class                                   answer
//	%41 (encoded unreserved)                decoded: /%61dmin is /admin
//	%3a (other escapes)                     kept, hex upper-cased: %3A
//	raw " < > [ ] ^ ` { | } and non-ASCII   percent-encoded
//	%2F %5C (encoded / and \)               refused (Policy.AllowEncodedSlash for %2F)
//	\ raw                                   refused
//	NUL, controls, space (raw or encoded)   refused
//	;  (path parameters)                    refused (Policy.AllowSemicolon)
//	%25 (encoded %)                         refused (Policy.AllowEncodedPercent)
//	//  (empty segment)                     refused; one trailing / is fine
//	. and .. segments, however encoded      refused
//	invalid or truncated escape             refused
//	absolute-form, asterisk-form targets    refused
//	host                                    lower-cased, port kept apart, one trailing dot removed
//	host with empty label, bad byte, port   refused
//	method not a token, or "get"/"Post"     refused
//	forwarded header repeated or a list     refused
//
// Rules then match the decoded canonical path (Decode) by whole segments
// (HasPrefix), so an escape a router decodes cannot step around them.
package canonical
