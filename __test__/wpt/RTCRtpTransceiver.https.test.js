'use strict';

require('./runner/suite')('RTCRtpTransceiver.https.html');
