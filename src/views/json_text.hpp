#pragma once
// JSON text of a built Boost.JSON value (the status documents: /v1/budget, /readyz, errors) with
// the numbers and strings JsonWriter writes ("-0.78", "17.46", "8.1", not Boost.JSON 1.81's
// "-7.8E-1"), so every reply shows numbers one way. Written by hand because Boost.JSON 1.81's
// serializer has no option for it.

#include <string>

#include <boost/json/value.hpp>

#include "views/json_writer.hpp"

namespace kisgate::views {

std::string ToJsonText(const boost::json::value& v);
void AppendJson(std::string& out, const boost::json::value& v);

}  // namespace kisgate::views
