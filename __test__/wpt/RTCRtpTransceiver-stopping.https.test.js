'use strict';

require('./runner/suite')('RTCRtpTransceiver-stopping.https.html');
