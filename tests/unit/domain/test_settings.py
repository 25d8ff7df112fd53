import pytest
from displaysense.config import ServiceSettings
from displaysense.domain.settings import EngineSettings, SettingsError


def test_defaults_are_the_product_definitions():
    s = EngineSettings()
    assert (s.track_gap_s, s.min_pass_s, s.dwell_s, s.min_attention_s) == (1.0, 0.5, 5.0, 0.5)
    assert (s.looking_yaw_deg, s.looking_pitch_deg) == (30.0, 30.0)


def test_environment_overrides_and_round_trip():
    s = EngineSettings.from_env({"DS_TRACK_GAP_S": "1.5", "DS_DWELL_S": "10", "OTHER": "x"})
    assert s.track_gap_s == 1.5 and s.dwell_s == 10.0
    assert EngineSettings.from_env(s.to_env()) == s


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DS_TRACK_GAP_S": "soon"}, "not a number"),
        ({"DS_TRACK_GAP_S": "0"}, "positive"),
        ({"DS_DWELL_S": "-1"}, "negative"),
        ({"DS_LOOKING_YAW_DEG": "200"}, "degrees"),
        ({"DS_MIN_IOU": "1.5"}, "share"),
        ({"DS_MIN_PASS_S": "nan"}, "finite"),
    ],
)
def test_bad_values_are_refused_naming_the_setting(env, message):
    with pytest.raises(SettingsError, match=message):
        EngineSettings.from_env(env)


def test_service_settings_need_their_table_and_bucket():
    with pytest.raises(SettingsError, match="DS_TABLE_NAME"):
        ServiceSettings.from_env({"DS_BUCKET_NAME": "b"})
    s = ServiceSettings.from_env({"DS_TABLE_NAME": "t", "DS_BUCKET_NAME": "b", "DS_FACES_ONLY": "yes"})
    assert s.faces_only and ServiceSettings.from_env(s.to_env()) == s
    with pytest.raises(SettingsError, match="true or false"):
        ServiceSettings.from_env({"DS_TABLE_NAME": "t", "DS_BUCKET_NAME": "b", "DS_FACES_ONLY": "maybe"})
