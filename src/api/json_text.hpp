#pragma once
// JSON text for API replies with numbers as people write them ("-0.78", "17.46", "8.1") rather
// than Boost.JSON 1.81's scientific form ("-7.8E-1"); both parse the same, but the replies are read
// by people too (curl, logs, spreadsheets). Written by hand because Boost.JSON 1.81's serializer
// has no option for it; strings and keys still go through Boost.JSON's escaping.

#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace kisgate::api {

std::string ToJsonText(const boost::json::value& v);

// `s` with every byte sequence that is not valid UTF-8 replaced by U+FFFD, so that text a peer
// controls (a request path) keeps a JSON reply valid: Boost.JSON writes strings' bytes unchecked.
std::string ValidUtf8(std::string_view s);

}  // namespace kisgate::api
