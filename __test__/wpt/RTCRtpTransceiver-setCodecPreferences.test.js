'use strict';

require('./runner/suite')('RTCRtpTransceiver-setCodecPreferences.html');
