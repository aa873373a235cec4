#include "sim/universe.hpp"

#include <array>
#include <cmath>

#include <fmt/format.h>

#include "sim/random.hpp"

namespace kisgate::sim {

namespace {

struct Known {
  const char* code;
  const char* name;
  const char* english;
  const char* sector;
  bool kosdaq;
  std::int64_t price;
  std::int64_t shares_million;
};

// Well-known listings with price levels of the right order (not live data).
constexpr auto kKnown = std::to_array<Known>({
    {"005930", "삼성전자", "Samsung Electronics", "전기·전자", false, 71500, 5969},
    {"000660", "SK하이닉스", "SK hynix", "전기·전자", false, 182000, 728},
    {"373220", "LG에너지솔루션", "LG Energy Solution", "전기·전자", false, 372000, 234},
    {"207940", "삼성바이오로직스", "Samsung Biologics", "제약", false, 985000, 71},
    {"005380", "현대차", "Hyundai Motor", "운송장비·부품", false, 214000, 209},
    {"000270", "기아", "Kia", "운송장비·부품", false, 98700, 393},
    {"068270", "셀트리온", "Celltrion", "제약", false, 176300, 217},
    {"035420", "NAVER", "NAVER", "서비스업", false, 198500, 158},
    {"035720", "카카오", "Kakao", "서비스업", false, 38450, 442},
    {"051910", "LG화학", "LG Chem", "화학", false, 312500, 70},
    {"006400", "삼성SDI", "Samsung SDI", "전기·전자", false, 265000, 68},
    {"105560", "KB금융", "KB Financial Group", "금융업", false, 84300, 393},
    {"055550", "신한지주", "Shinhan Financial Group", "금융업", false, 51200, 509},
    {"012330", "현대모비스", "Hyundai Mobis", "운송장비·부품", false, 241000, 92},
    {"028260", "삼성물산", "Samsung C&T", "유통업", false, 132600, 169},
    {"066570", "LG전자", "LG Electronics", "전기·전자", false, 94300, 163},
    {"003550", "LG", "LG Corp", "금융업", false, 72800, 157},
    {"096770", "SK이노베이션", "SK Innovation", "화학", false, 112400, 100},
    {"017670", "SK텔레콤", "SK Telecom", "통신업", false, 55300, 214},
    {"030200", "KT", "KT", "통신업", false, 42150, 257},
    {"032830", "삼성생명", "Samsung Life Insurance", "보험", false, 89600, 200},
    {"086790", "하나금융지주", "Hana Financial Group", "금융업", false, 60200, 292},
    {"316140", "우리금융지주", "Woori Financial Group", "금융업", false, 15430, 742},
    {"010130", "고려아연", "Korea Zinc", "철강·금속", false, 498000, 20},
    {"005490", "POSCO홀딩스", "POSCO Holdings", "철강·금속", false, 352000, 84},
    {"009150", "삼성전기", "Samsung Electro-Mechanics", "전기·전자", false, 138500, 74},
    {"018260", "삼성에스디에스", "Samsung SDS", "서비스업", false, 148700, 77},
    {"034730", "SK", "SK Inc", "금융업", false, 162300, 73},
    {"015760", "한국전력", "Korea Electric Power", "전기·가스업", false, 21450, 641},
    {"033780", "KT&G", "KT&G", "음식료품", false, 97800, 137},
    {"003670", "포스코퓨처엠", "POSCO Future M", "화학", false, 268500, 77},
    {"011200", "HMM", "HMM", "운수창고업", false, 17820, 1026},
    {"010950", "S-Oil", "S-Oil", "화학", false, 63400, 112},
    {"024110", "기업은행", "Industrial Bank of Korea", "은행", false, 13660, 797},
    {"259960", "크래프톤", "KRAFTON", "서비스업", false, 287000, 48},
    {"323410", "카카오뱅크", "KakaoBank", "은행", false, 22150, 477},
    {"352820", "하이브", "HYBE", "서비스업", false, 198700, 41},
    {"042700", "한미반도체", "Hanmi Semiconductor", "기계", false, 112300, 97},
    {"012450", "한화에어로스페이스", "Hanwha Aerospace", "운송장비·부품", false, 312000, 50},
    {"329180", "HD현대중공업", "HD Hyundai Heavy Industries", "운송장비·부품", false, 189500, 88},
    {"009540", "HD한국조선해양", "HD Korea Shipbuilding & Offshore Engineering", "운송장비·부품",
     false, 162000, 70},
    {"047050", "포스코인터내셔널", "POSCO International", "유통업", false, 52800, 175},
    {"010140", "삼성중공업", "Samsung Heavy Industries", "운송장비·부품", false, 10850, 880},
    {"000810", "삼성화재", "Samsung Fire & Marine Insurance", "보험", false, 342500, 47},
    {"138040", "메리츠금융지주", "Meritz Financial Group", "금융업", false, 92400, 190},
    {"247540", "에코프로비엠", "EcoPro BM", "일반전기전자", true, 178200, 97},
    {"086520", "에코프로", "EcoPro", "금융", true, 92300, 133},
    {"196170", "알테오젠", "Alteogen", "제약", true, 321500, 53},
    {"028300", "HLB", "HLB", "제약", true, 78200, 130},
    {"293490", "카카오게임즈", "Kakao Games", "디지털컨텐츠", true, 19870, 82},
    {"263750", "펄어비스", "Pearl Abyss", "디지털컨텐츠", true, 38900, 64},
    {"058470", "리노공업", "LEENO Industrial", "반도체", true, 198000, 15},
    {"145020", "휴젤", "Hugel", "제약", true, 245000, 12},
});

constexpr auto kSectors =
    std::to_array<const char*>({"전기·전자", "화학", "제약", "기계", "서비스업", "금융업", "유통업",
                                "음식료품", "철강·금속", "건설업", "운송장비·부품"});

}  // namespace

Universe::Universe(std::size_t generated_count) {
  for (const auto& k : kKnown) {
    StockInfo s{k.code,
                k.name,
                k.english,
                k.sector,
                k.kosdaq,
                k.price,
                k.shares_million * 1'000'000,
                static_cast<std::uint32_t>(stocks_.size())};
    by_code_.emplace(s.code, stocks_.size());
    stocks_.push_back(std::move(s));
  }
  // Generated listings: codes on a stride that ends in 0 like most KRX common shares, skipping
  // any that a known listing already uses.
  std::uint64_t candidate = 100000;
  for (std::size_t made = 0; made < generated_count; candidate += 30) {
    std::string code = fmt::format("{:06d}", candidate % 1'000'000);
    if (by_code_.contains(code)) continue;
    const auto index = static_cast<std::uint32_t>(stocks_.size());
    const std::uint64_t h = Mix(0x756e6976ULL, index);
    // Log-uniform prices between 1,000 and 500,000 KRW.
    const double price = 1000.0 * std::pow(500.0, Uniform(h));
    StockInfo s;
    s.code = code;
    s.name = fmt::format("시뮬종목{:04d}", made + 1);
    s.english = fmt::format("SIM STOCK {:04d}", made + 1);
    s.sector = kSectors[Mix(h, 1) % kSectors.size()];
    s.kosdaq = (Mix(h, 2) & 1) != 0;
    s.base_price = static_cast<std::int64_t>(price);
    s.listed_shares = static_cast<std::int64_t>(5'000'000 + Mix(h, 3) % 200'000'000);
    s.index = index;
    by_code_.emplace(s.code, stocks_.size());
    stocks_.push_back(std::move(s));
    ++made;
  }
}

const Universe& Universe::Default() {
  static const Universe universe(2700);
  return universe;
}

const StockInfo* Universe::Find(std::string_view code) const {
  auto it = by_code_.find(std::string(code));
  return it == by_code_.end() ? nullptr : &stocks_[it->second];
}

}  // namespace kisgate::sim
