#!/usr/bin/python3
"""The rules that real KIS clients depend on, checked against `kisgate sim` on the wire.

KIS's official sample client (koreainvestment/open-trading-api, examples_user/kis_auth.py) and
python-kis (Soju06/python-kis) were run unmodified against the simulator; these are the rules
they broke on (issue 10), so that a regression fails `make test`:
- header names as KIS spells them (`Content-Type`; `tr_id`, `tr_cont`, `gt_uid` in lower case);
- every field of KIS's replies, in KIS's order (the lists below are the COLUMN_MAPPING of each
  TR's chk_*.py in the official repository, examples_llm/domestic_stock/);
- the fields python-kis reads, with values it can parse;
- FID_INPUT_HOUR_1=000000 answered like "now";
- daily bars only on KRX trading days (June 2024: 19), and long histories answered, not refused;
- the four TRs clients call for one stock; an unknown path in KIS's envelope.
Run by ctest: kis_client_rules_test.py PATH_TO_KISGATE
"""
import datetime
import json
import sys
import unittest

import requests

from sim_process import start_sim

KISGATE = sys.argv.pop(1) if len(sys.argv) > 1 else "build/kisgate"
APP_KEY = "PSrulesTESTkey0000000000000000000001"
APP_SECRET = "R" * 180
QUOTES = "/uapi/domestic-stock/v1/quotations"

# ---- The official repository's field lists (COLUMN_MAPPING keys, in order). For the TRs with two
# outputs the list is output1's fields followed by output2's.
PRICE = [
    "iscd_stat_cls_code", "marg_rate", "rprs_mrkt_kor_name", "new_hgpr_lwpr_cls_code",
    "bstp_kor_isnm", "temp_stop_yn", "oprc_rang_cont_yn", "clpr_rang_cont_yn", "crdt_able_yn",
    "grmn_rate_cls_code", "elw_pblc_yn", "stck_prpr", "prdy_vrss", "prdy_vrss_sign",
    "prdy_ctrt", "acml_tr_pbmn", "acml_vol", "prdy_vrss_vol_rate", "stck_oprc", "stck_hgpr",
    "stck_lwpr", "stck_mxpr", "stck_llam", "stck_sdpr", "wghn_avrg_stck_prc", "hts_frgn_ehrt",
    "frgn_ntby_qty", "pgtr_ntby_qty", "pvt_scnd_dmrs_prc", "pvt_frst_dmrs_prc", "pvt_pont_val",
    "pvt_frst_dmsp_prc", "pvt_scnd_dmsp_prc", "dmrs_val", "dmsp_val", "cpfn", "rstc_wdth_prc",
    "stck_fcam", "stck_sspr", "aspr_unit", "hts_deal_qty_unit_val", "lstn_stcn", "hts_avls",
    "per", "pbr", "stac_month", "vol_tnrt", "eps", "bps", "d250_hgpr", "d250_hgpr_date",
    "d250_hgpr_vrss_prpr_rate", "d250_lwpr", "d250_lwpr_date", "d250_lwpr_vrss_prpr_rate",
    "stck_dryy_hgpr", "dryy_hgpr_vrss_prpr_rate", "dryy_hgpr_date", "stck_dryy_lwpr",
    "dryy_lwpr_vrss_prpr_rate", "dryy_lwpr_date", "w52_hgpr", "w52_hgpr_vrss_prpr_ctrt",
    "w52_hgpr_date", "w52_lwpr", "w52_lwpr_vrss_prpr_ctrt", "w52_lwpr_date",
    "whol_loan_rmnd_rate", "ssts_yn", "stck_shrn_iscd", "fcam_cnnm", "cpfn_cnnm", "apprch_rate",
    "frgn_hldn_qty", "vi_cls_code", "ovtm_vi_cls_code", "last_ssts_cntg_qty", "invt_caful_yn",
    "mrkt_warn_cls_code", "short_over_yn", "sltr_yn", "mang_issu_cls_code"
]
ORDERBOOK = [
    "aspr_acpt_hour", "askp1", "askp2", "askp3", "askp4", "askp5", "askp6", "askp7", "askp8",
    "askp9", "askp10", "bidp1", "bidp2", "bidp3", "bidp4", "bidp5", "bidp6", "bidp7", "bidp8",
    "bidp9", "bidp10", "askp_rsqn1", "askp_rsqn2", "askp_rsqn3", "askp_rsqn4", "askp_rsqn5",
    "askp_rsqn6", "askp_rsqn7", "askp_rsqn8", "askp_rsqn9", "askp_rsqn10", "bidp_rsqn1",
    "bidp_rsqn2", "bidp_rsqn3", "bidp_rsqn4", "bidp_rsqn5", "bidp_rsqn6", "bidp_rsqn7",
    "bidp_rsqn8", "bidp_rsqn9", "bidp_rsqn10", "askp_rsqn_icdc1", "askp_rsqn_icdc2",
    "askp_rsqn_icdc3", "askp_rsqn_icdc4", "askp_rsqn_icdc5", "askp_rsqn_icdc6",
    "askp_rsqn_icdc7", "askp_rsqn_icdc8", "askp_rsqn_icdc9", "askp_rsqn_icdc10",
    "bidp_rsqn_icdc1", "bidp_rsqn_icdc2", "bidp_rsqn_icdc3", "bidp_rsqn_icdc4",
    "bidp_rsqn_icdc5", "bidp_rsqn_icdc6", "bidp_rsqn_icdc7", "bidp_rsqn_icdc8",
    "bidp_rsqn_icdc9", "bidp_rsqn_icdc10", "total_askp_rsqn", "total_bidp_rsqn",
    "total_askp_rsqn_icdc", "total_bidp_rsqn_icdc", "ovtm_total_askp_icdc",
    "ovtm_total_bidp_icdc", "ovtm_total_askp_rsqn", "ovtm_total_bidp_rsqn", "ntby_aspr_rsqn",
    "new_mkop_cls_code", "antc_mkop_cls_code", "stck_prpr", "stck_oprc", "stck_hgpr",
    "stck_lwpr", "stck_sdpr", "antc_cnpr", "antc_cntg_vrss_sign", "antc_cntg_vrss",
    "antc_cntg_prdy_ctrt", "antc_vol", "stck_shrn_iscd", "vi_cls_code"
]
INVESTORS = [
    "stck_bsop_date", "stck_clpr", "prdy_vrss", "prdy_vrss_sign", "prsn_ntby_qty",
    "frgn_ntby_qty", "orgn_ntby_qty", "prsn_ntby_tr_pbmn", "frgn_ntby_tr_pbmn",
    "orgn_ntby_tr_pbmn", "prsn_shnu_vol", "frgn_shnu_vol", "orgn_shnu_vol", "prsn_shnu_tr_pbmn",
    "frgn_shnu_tr_pbmn", "orgn_shnu_tr_pbmn", "prsn_seln_vol", "frgn_seln_vol", "orgn_seln_vol",
    "prsn_seln_tr_pbmn", "frgn_seln_tr_pbmn", "orgn_seln_tr_pbmn"
]
OVERTIME_PRICE = [
    "bstp_kor_isnm", "mang_issu_cls_name", "ovtm_untp_prpr", "ovtm_untp_prdy_vrss",
    "ovtm_untp_prdy_vrss_sign", "ovtm_untp_prdy_ctrt", "ovtm_untp_vol", "ovtm_untp_tr_pbmn",
    "ovtm_untp_mxpr", "ovtm_untp_llam", "ovtm_untp_oprc", "ovtm_untp_hgpr", "ovtm_untp_lwpr",
    "marg_rate", "ovtm_untp_antc_cnpr", "ovtm_untp_antc_cntg_vrss",
    "ovtm_untp_antc_cntg_vrss_sign", "ovtm_untp_antc_cntg_ctrt", "ovtm_untp_antc_cnqn",
    "crdt_able_yn", "new_lstn_cls_name", "sltr_yn", "mang_issu_yn", "mrkt_warn_cls_code",
    "trht_yn", "vlnt_deal_cls_name", "ovtm_untp_sdpr", "mrkt_warn_cls_name",
    "revl_issu_reas_name", "insn_pbnt_yn", "flng_cls_name", "rprs_mrkt_kor_name",
    "ovtm_vi_cls_code", "bidp", "askp"
]
# The official list spells the second bid quantity "ovtm_untp_bidp_rsqn" (a slip among
# ovtm_untp_bidp_rsqn1..10); it is "ovtm_untp_bidp_rsqn2" here.
OVERTIME_ORDERBOOK = [
    "ovtm_untp_last_hour", "ovtm_untp_askp1", "ovtm_untp_askp2", "ovtm_untp_askp3",
    "ovtm_untp_askp4", "ovtm_untp_askp5", "ovtm_untp_askp6", "ovtm_untp_askp7",
    "ovtm_untp_askp8", "ovtm_untp_askp9", "ovtm_untp_askp10", "ovtm_untp_bidp1",
    "ovtm_untp_bidp2", "ovtm_untp_bidp3", "ovtm_untp_bidp4", "ovtm_untp_bidp5",
    "ovtm_untp_bidp6", "ovtm_untp_bidp7", "ovtm_untp_bidp8", "ovtm_untp_bidp9",
    "ovtm_untp_bidp10", "ovtm_untp_askp_icdc1", "ovtm_untp_askp_icdc2", "ovtm_untp_askp_icdc3",
    "ovtm_untp_askp_icdc4", "ovtm_untp_askp_icdc5", "ovtm_untp_askp_icdc6",
    "ovtm_untp_askp_icdc7", "ovtm_untp_askp_icdc8", "ovtm_untp_askp_icdc9",
    "ovtm_untp_askp_icdc10", "ovtm_untp_bidp_icdc1", "ovtm_untp_bidp_icdc2",
    "ovtm_untp_bidp_icdc3", "ovtm_untp_bidp_icdc4", "ovtm_untp_bidp_icdc5",
    "ovtm_untp_bidp_icdc6", "ovtm_untp_bidp_icdc7", "ovtm_untp_bidp_icdc8",
    "ovtm_untp_bidp_icdc9", "ovtm_untp_bidp_icdc10", "ovtm_untp_askp_rsqn1",
    "ovtm_untp_askp_rsqn2", "ovtm_untp_askp_rsqn3", "ovtm_untp_askp_rsqn4",
    "ovtm_untp_askp_rsqn5", "ovtm_untp_askp_rsqn6", "ovtm_untp_askp_rsqn7",
    "ovtm_untp_askp_rsqn8", "ovtm_untp_askp_rsqn9", "ovtm_untp_askp_rsqn10",
    "ovtm_untp_bidp_rsqn1", "ovtm_untp_bidp_rsqn2", "ovtm_untp_bidp_rsqn3",
    "ovtm_untp_bidp_rsqn4", "ovtm_untp_bidp_rsqn5", "ovtm_untp_bidp_rsqn6",
    "ovtm_untp_bidp_rsqn7", "ovtm_untp_bidp_rsqn8", "ovtm_untp_bidp_rsqn9",
    "ovtm_untp_bidp_rsqn10", "ovtm_untp_total_askp_rsqn", "ovtm_untp_total_bidp_rsqn",
    "ovtm_untp_total_askp_rsqn_icdc", "ovtm_untp_total_bidp_rsqn_icdc",
    "ovtm_untp_ntby_bidp_rsqn", "total_askp_rsqn", "total_bidp_rsqn", "total_askp_rsqn_icdc",
    "total_bidp_rsqn_icdc", "ovtm_total_askp_rsqn", "ovtm_total_bidp_rsqn",
    "ovtm_total_askp_icdc", "ovtm_total_bidp_icdc"
]
MINUTE_BARS = [
    "prdy_vrss", "prdy_vrss_sign", "prdy_ctrt", "stck_prdy_clpr", "acml_vol", "acml_tr_pbmn",
    "hts_kor_isnm", "stck_prpr", "stck_bsop_date", "stck_cntg_hour", "stck_prpr", "stck_oprc",
    "stck_hgpr", "stck_lwpr", "cntg_vol", "acml_tr_pbmn"
]
DAILY_BARS = [
    "prdy_vrss", "prdy_vrss_sign", "prdy_ctrt", "stck_prdy_clpr", "acml_vol", "acml_tr_pbmn",
    "hts_kor_isnm", "stck_prpr", "stck_shrn_iscd", "prdy_vol", "stck_mxpr", "stck_llam",
    "stck_oprc", "stck_hgpr", "stck_lwpr", "stck_prdy_oprc", "stck_prdy_hgpr", "stck_prdy_lwpr",
    "askp", "bidp", "prdy_vrss_vol", "vol_tnrt", "stck_fcam", "lstn_stcn", "cpfn", "hts_avls",
    "per", "eps", "pbr", "itewhol_loan_rmnd_ratem", "stck_bsop_date", "stck_clpr", "stck_oprc",
    "stck_hgpr", "stck_lwpr", "acml_vol", "acml_tr_pbmn", "flng_cls_code", "prtt_rate",
    "mod_yn", "prdy_vrss_sign", "prdy_vrss", "revl_issu_reas"
]
SEARCH_INFO = [
    "pdno", "prdt_type_cd", "std_pdno", "shtn_pdno", "prdt_sale_stat_cd", "prdt_risk_grad_cd",
    "prdt_clsf_cd", "sale_strt_dt", "sale_end_dt", "wrap_asst_type_cd", "ivst_prdt_type_cd",
    "frst_erlm_dt"
]
SEARCH_STOCK_INFO = [
    "pdno", "prdt_type_cd", "prdt_name", "prdt_name120", "prdt_abrv_name", "prdt_eng_name",
    "prdt_eng_name120", "prdt_eng_abrv_name", "mket_id_cd", "scty_grp_id_cd", "excg_dvsn_cd",
    "setl_mmdd", "lstg_stqt", "lstg_cptl_amt", "cpta", "papr", "issu_pric", "kospi200_item_yn",
    "scts_mket_lstg_dt", "scts_mket_lstg_abol_dt", "kosdaq_mket_lstg_dt",
    "kosdaq_mket_lstg_abol_dt", "frbd_mket_lstg_dt", "frbd_mket_lstg_abol_dt", "reits_kind_cd",
    "etf_dvsn_cd", "oilf_fund_yn", "idx_bztp_lcls_cd", "idx_bztp_mcls_cd", "idx_bztp_scls_cd",
    "idx_bztp_lcls_cd_name", "idx_bztp_mcls_cd_name", "idx_bztp_scls_cd_name", "stck_kind_cd",
    "mfnd_opng_dt", "mfnd_end_dt", "dpsi_erlm_cncl_dt", "etf_cu_qty", "std_pdno",
    "dpsi_aptm_erlm_yn", "etf_txtn_type_cd", "etf_type_cd", "lstg_abol_dt", "nwst_odst_dvsn_cd",
    "sbst_pric", "thco_sbst_pric", "thco_sbst_pric_chng_dt", "tr_stop_yn", "admn_item_yn",
    "thdt_clpr", "bfdy_clpr", "clpr_chng_dt", "std_idst_clsf_cd", "std_idst_clsf_cd_name",
    "ocr_no", "crfd_item_yn", "elec_scty_yn", "issu_istt_cd", "etf_chas_erng_rt_dbnb",
    "etf_etn_ivst_heed_item_yn", "stln_int_rt_dvsn_cd", "frnr_psnl_lmt_rt",
    "lstg_rqsr_issu_istt_cd", "lstg_rqsr_item_cd", "trst_istt_issu_istt_cd",
    "cptt_trad_tr_psbl_yn", "nxt_tr_stop_yn"
]
TRADES = [
    "stck_cntg_hour", "stck_prpr", "prdy_vrss", "prdy_vrss_sign", "cntg_vol", "tday_rltv",
    "prdy_ctrt"
]
DAILY_PRICES = [
    "stck_bsop_date", "stck_oprc", "stck_hgpr", "stck_lwpr", "stck_clpr", "acml_vol",
    "prdy_vrss_vol_rate", "prdy_vrss", "prdy_vrss_sign", "prdy_ctrt", "hts_frgn_ehrt",
    "frgn_ntby_qty", "flng_cls_code", "acml_prtt_rate"
]

# ---- What python-kis reads (pykis/api/stock/*.py), beyond the lists above.
PYKIS_QUOTE = [
    "stck_shrn_iscd", "bstp_kor_isnm", "stck_prpr", "acml_vol", "acml_tr_pbmn", "hts_avls",
    "prdy_vrss_sign", "mrkt_warn_cls_code", "temp_stop_yn", "short_over_yn", "prdy_vrss_vol_rate",
    "prdy_vrss", "stck_oprc", "stck_hgpr", "stck_lwpr", "stck_mxpr", "stck_llam", "stck_sdpr",
    "aspr_unit", "eps", "bps", "per", "pbr", "w52_hgpr", "w52_lwpr", "w52_hgpr_date",
    "w52_lwpr_date",
]
PYKIS_SEARCH_INFO = [
    "shtn_pdno", "std_pdno", "prdt_abrv_name", "prdt_name120", "prdt_eng_abrv_name",
    "prdt_eng_name120", "prdt_type_cd",
]

# KRX closures on weekdays, 2024 to 2026 (KRX's yearly market calendars).
KRX_HOLIDAYS = {
    "20240101", "20240209", "20240212", "20240301", "20240410", "20240501", "20240506",
    "20240515", "20240606", "20240815", "20240916", "20240917", "20240918", "20241001",
    "20241003", "20241009", "20241225", "20241231",
    "20250101", "20250127", "20250128", "20250129", "20250130", "20250303", "20250501",
    "20250505", "20250506", "20250603", "20250606", "20250815", "20251003", "20251006",
    "20251007", "20251008", "20251009", "20251225", "20251231",
    "20260101", "20260216", "20260217", "20260218", "20260302", "20260501", "20260505",
    "20260525", "20260603", "20260817", "20260924", "20260925", "20261005", "20261009",
}


class Sim:
    """Starts `kisgate sim` on a free port and reads the address it prints."""

    def __init__(self, clock):
        self.proc, self.base_url = start_sim(
            [KISGATE, "sim", "--listen", "127.0.0.1:0", "--latency-ms", "0",
             "--key", f"{APP_KEY}:{APP_SECRET}:real", "--clock", clock,
             "--rate", "1000"])  # these checks are about shapes, not the rate limit

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


class Client:
    """Sends what KIS's samples send; the reply's header names are read as they came on the wire."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.headers = {"Content-Type": "application/json", "Accept": "text/plain",
                        "charset": "UTF-8", "User-Agent": "kis-client-rules-test"}

    def token(self):
        body = {"grant_type": "client_credentials", "appkey": APP_KEY, "appsecret": APP_SECRET}
        return requests.post(f"{self.base_url}/oauth2/tokenP", data=json.dumps(body),
                             headers=self.headers, timeout=10)

    def auth(self):
        res = self.token()
        assert res.status_code == 200, res.text
        self.access_token = res.json()["access_token"]
        self.headers.update({"authorization": f"Bearer {self.access_token}", "appkey": APP_KEY,
                             "appsecret": APP_SECRET})

    def get(self, name, tr_id, params, headers=None):
        h = dict(self.headers, tr_id=tr_id, custtype="P", tr_cont="")
        h.update(headers or {})
        return requests.get(f"{self.base_url}{QUOTES}/{name}", headers=h, params=params, timeout=10)

    def ok(self, name, tr_id, **params):
        res = self.get(name, tr_id, dict({"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"},
                                         **params))
        assert res.status_code == 200, res.text
        body = res.json()
        assert body["rt_cd"] == "0", body
        return body


def header_names(res):
    """The names exactly as the server wrote them (urllib3 keeps their case)."""
    return list(res.raw.headers.keys())


def assert_kis_header_names(test, res, kis_headers=True):
    """`Content-Type` capitalised, once; every all-lower-case name a Python identifier (the official
    client makes a namedtuple of them); KIS's own headers on quotation replies."""
    names = header_names(res)
    test.assertEqual([n for n in names if n.lower() == "content-type"], ["Content-Type"], names)
    for n in names:
        if n.islower():
            test.assertTrue(n.isidentifier(), f"{n!r} would crash KIS's sample client")
    if kis_headers:
        for n in ("tr_id", "tr_cont", "gt_uid"):
            test.assertIn(n, names)


def on_tick_grid(price):
    tick = (1 if price < 2000 else 5 if price < 5000 else 10 if price < 20000 else
            50 if price < 50000 else 100 if price < 200000 else 500 if price < 500000 else 1000)
    return price % tick == 0


def is_subsequence(small, big):
    it = iter(big)
    return all(x in it for x in small)


class DuringTheSession(unittest.TestCase):
    """The simulator at 10:00 on a trading day, the market moving in real time."""

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("2026-11-24T10:00:00")
        cls.client = Client(cls.sim.base_url)
        cls.client.auth()

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def assert_kis_header_names(self, res, kis_headers=True):
        assert_kis_header_names(self, res, kis_headers)

    def test_header_names_on_every_kind_of_reply(self):
        ok = self.client.get("inquire-price", "FHKST01010100",
                             {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"})
        self.assertEqual(ok.status_code, 200)
        self.assert_kis_header_names(ok)
        self.assertEqual(ok.headers["tr_id"], "FHKST01010100")
        self.assertTrue(ok.headers["gt_uid"])
        bad_secret = self.client.get("inquire-price", "FHKST01010100",
                                     {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"},
                                     {"appsecret": "X" * 180})
        self.assertEqual(bad_secret.status_code, 500)
        self.assert_kis_header_names(bad_secret, kis_headers=False)
        bad_param = self.client.get("inquire-price", "FHKST01010100", {"FID_INPUT_ISCD": "005930"})
        self.assertEqual(bad_param.status_code, 500)
        self.assert_kis_header_names(bad_param, kis_headers=False)
        throttled = self.client.token()  # a second token within the minute: 403
        self.assertEqual(throttled.status_code, 403)
        self.assert_kis_header_names(throttled, kis_headers=False)
        approval = requests.post(f"{self.sim.base_url}/oauth2/Approval", timeout=10, data=json.dumps(
            {"grant_type": "client_credentials", "appkey": APP_KEY, "secretkey": APP_SECRET}))
        self.assertEqual(approval.status_code, 200)
        self.assert_kis_header_names(approval, kis_headers=False)
        unknown = self.client.get("no-such-tr", "FHKST01010100", {})
        self.assert_kis_header_names(unknown, kis_headers=False)

    def test_unknown_path_answers_in_kis_envelope(self):
        for url in (f"{QUOTES}/no-such-tr", "/uapi/domestic-stock/v1/trading/order-cash",
                    "/oauth2/nothing", "/"):
            res = requests.get(f"{self.sim.base_url}{url}", headers=self.client.headers, timeout=10)
            self.assertEqual(res.status_code, 404, url)
            body = res.json()
            self.assertEqual(body["rt_cd"], "1", url)
            self.assertTrue(body["msg_cd"])
            self.assertTrue(body["msg1"])
            self.assertNotIn("error", body)

    def test_inquire_price_has_every_official_field_in_order(self):
        out = self.client.ok("inquire-price", "FHKST01010100")["output"]
        self.assertEqual(list(out), PRICE)
        for name in PYKIS_QUOTE:
            self.assertIn(name, out)
        self.assertTrue(all(isinstance(v, str) for v in out.values()))
        for name in ("stck_prpr", "stck_oprc", "stck_hgpr", "stck_lwpr", "stck_mxpr", "stck_llam",
                     "stck_sdpr", "w52_hgpr", "w52_lwpr", "d250_hgpr", "d250_lwpr",
                     "stck_dryy_hgpr", "stck_dryy_lwpr", "pvt_pont_val", "pvt_frst_dmrs_prc",
                     "pvt_frst_dmsp_prc", "stck_sspr"):
            self.assertTrue(on_tick_grid(int(out[name])), f"{name}={out[name]}")
        # What python-kis parses: dates, the risk and sign codes, decimals.
        for name in ("w52_hgpr_date", "w52_lwpr_date", "d250_hgpr_date", "dryy_lwpr_date"):
            datetime.datetime.strptime(out[name], "%Y%m%d")
        self.assertIn(out["mrkt_warn_cls_code"], ("00", "01", "02", "03"))
        self.assertIn(out["prdy_vrss_sign"], ("1", "2", "3", "4", "5"))
        self.assertIn(out["temp_stop_yn"], ("Y", "N"))
        float(out["prdy_vrss_vol_rate"])
        self.assertLessEqual(int(out["stck_lwpr"]), int(out["stck_prpr"]))
        self.assertLessEqual(int(out["stck_prpr"]), int(out["stck_hgpr"]))
        self.assertLessEqual(int(out["stck_hgpr"]), int(out["w52_hgpr"]))

    def test_other_trs_have_the_official_fields_in_order(self):
        book = self.client.ok("inquire-asking-price-exp-ccn", "FHKST01010200")
        self.assertEqual(list(book["output1"]) + list(book["output2"]), ORDERBOOK)
        investors = self.client.ok("inquire-investor", "FHKST01010900")["output"]
        self.assertTrue(investors)
        self.assertEqual(list(investors[0]), INVESTORS)
        ot = self.client.ok("inquire-overtime-price", "FHPST02300000")["output"]
        self.assertEqual(list(ot), OVERTIME_PRICE)
        ot_book = self.client.ok("inquire-overtime-asking-price", "FHPST02300400")["output"]
        self.assertEqual(list(ot_book), OVERTIME_ORDERBOOK)
        minute = self.client.ok("inquire-time-itemchartprice", "FHKST03010200", FID_ETC_CLS_CODE="",
                                FID_INPUT_HOUR_1="100000", FID_PW_DATA_INCU_YN="N")
        self.assertEqual(list(minute["output1"]) + list(minute["output2"][0]), MINUTE_BARS)
        daily = self.client.ok("inquire-daily-itemchartprice", "FHKST03010100",
                               FID_INPUT_DATE_1="20260101", FID_INPUT_DATE_2="20261124",
                               FID_PERIOD_DIV_CODE="D", FID_ORG_ADJ_PRC="1")
        self.assertEqual(list(daily["output1"]) + list(daily["output2"][0]), DAILY_BARS)

    def test_minute_bars_000000_is_now(self):
        def first_page(hour):
            return self.client.ok("inquire-time-itemchartprice", "FHKST03010200",
                                  FID_ETC_CLS_CODE="", FID_INPUT_HOUR_1=hour,
                                  FID_PW_DATA_INCU_YN="N")["output2"]
        zero, now = first_page("000000"), first_page("235959")
        self.assertTrue(zero)
        self.assertEqual(zero[0]["stck_cntg_hour"], now[0]["stck_cntg_hour"])
        self.assertEqual(zero[0]["stck_cntg_hour"][:2], "10")
        self.assertEqual([b["stck_cntg_hour"] for b in zero[1:]], [b["stck_cntg_hour"] for b in now[1:]])

    def daily_bars(self, start, end, period="D"):
        return self.client.ok("inquire-daily-itemchartprice", "FHKST03010100",
                              FID_INPUT_DATE_1=start, FID_INPUT_DATE_2=end,
                              FID_PERIOD_DIV_CODE=period, FID_ORG_ADJ_PRC="0")["output2"]

    def test_daily_bars_only_on_krx_trading_days(self):
        june = [b["stck_bsop_date"] for b in self.daily_bars("20240601", "20240630")]
        self.assertEqual(len(june), 19, june)
        self.assertNotIn("20240606", june)
        # Page through the whole history the way clients do: every bar a trading day, down to the
        # first day the history has.
        end, dates = "20261124", []
        while True:
            page = self.daily_bars("00000101", end)
            if not page:
                break
            dates += [b["stck_bsop_date"] for b in page]
            last = datetime.datetime.strptime(page[-1]["stck_bsop_date"], "%Y%m%d")
            end = (last - datetime.timedelta(days=1)).strftime("%Y%m%d")
        self.assertEqual(dates[-1], "20240102")
        self.assertEqual(len(dates), len(set(dates)))
        for d in dates:
            self.assertNotIn(d, KRX_HOLIDAYS)
            self.assertLess(datetime.datetime.strptime(d, "%Y%m%d").weekday(), 5, d)
        self.assertEqual(sum(d.startswith("2024") for d in dates), 244)
        # python-kis's yearly chart asks for 30 years: the years the history has, and before it
        # an empty answer, never an error.
        years = self.daily_bars("19960101", "20261124", "Y")
        self.assertEqual([y["stck_bsop_date"][:4] for y in years], ["2026", "2025", "2024"])
        self.assertEqual(self.daily_bars("19960101", "20231231"), [])

    def test_client_only_trs(self):
        info = self.client.get("search-info", "CTPF1604R", {"PDNO": "005930", "PRDT_TYPE_CD": "300"})
        self.assertEqual(info.status_code, 200, info.text)
        self.assert_kis_header_names(info)
        out = info.json()["output"]
        self.assertTrue(is_subsequence(SEARCH_INFO, list(out)), list(out))
        for name in PYKIS_SEARCH_INFO:
            self.assertIn(name, out)
        self.assertEqual(out["shtn_pdno"], "005930")
        self.assertEqual(out["std_pdno"], "KR7005930003")
        self.assertEqual(out["prdt_type_cd"], "300")
        # Not a product: HTTP 200 with rt_cd "7" (python-kis then tries the next market).
        none = self.client.get("search-info", "CTPF1604R", {"PDNO": "999999", "PRDT_TYPE_CD": "300"})
        self.assertEqual(none.status_code, 200)
        self.assertEqual(none.json()["rt_cd"], "7")

        stock = self.client.get("search-stock-info", "CTPF1002R", {"PRDT_TYPE_CD": "300", "PDNO": "005930"})
        self.assertEqual(stock.status_code, 200, stock.text)
        self.assertEqual(list(stock.json()["output"]), SEARCH_STOCK_INFO)

        trades = self.client.ok("inquire-ccnl", "FHKST01010300")["output"]
        self.assertEqual(len(trades), 30)
        self.assertEqual(list(trades[0]), TRADES)
        hours = [t["stck_cntg_hour"] for t in trades]
        self.assertEqual(hours, sorted(hours, reverse=True))
        self.assertTrue(all(on_tick_grid(int(t["stck_prpr"])) and int(t["cntg_vol"]) > 0 for t in trades))

        prices = self.client.ok("inquire-daily-price", "FHKST01010400", FID_PERIOD_DIV_CODE="D",
                                FID_ORG_ADJ_PRC="1")["output"]
        self.assertEqual(len(prices), 30)
        self.assertEqual(list(prices[0]), DAILY_PRICES)
        bars = self.daily_bars("20260101", "20261124")
        self.assertEqual([p["stck_bsop_date"] for p in prices], [b["stck_bsop_date"] for b in bars[:30]])
        self.assertEqual([p["stck_clpr"] for p in prices[1:]], [b["stck_clpr"] for b in bars[1:30]])


class TokenLifecycle(unittest.TestCase):
    """tokenP and revokeP replies, on a simulator of their own (revoking ends the token)."""

    def test_token_and_revoke_header_names(self):
        sim = Sim("2026-11-24T10:00:00")
        try:
            client = Client(sim.base_url)
            token = client.token()
            self.assertEqual(token.status_code, 200, token.text)
            assert_kis_header_names(self, token, kis_headers=False)
            revoke = requests.post(f"{sim.base_url}/oauth2/revokeP", timeout=10, data=json.dumps(
                {"appkey": APP_KEY, "appsecret": APP_SECRET, "token": token.json()["access_token"]}))
            self.assertEqual(revoke.status_code, 200, revoke.text)
            self.assertEqual(revoke.json()["code"], 200)
            assert_kis_header_names(self, revoke, kis_headers=False)
        finally:
            sim.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
