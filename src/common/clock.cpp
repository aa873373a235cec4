#include "common/clock.hpp"

namespace kisgate::common {

const SystemClock& SystemClock::Instance() {
  static const SystemClock clock;
  return clock;
}

}  // namespace kisgate::common
