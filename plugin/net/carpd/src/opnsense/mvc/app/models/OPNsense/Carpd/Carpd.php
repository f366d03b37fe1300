<?php

/*
 * Copyright (C) 2026 carpd contributors
 * All rights reserved.
 *
 * Redistribution and use in source and binary forms, with or without
 * modification, are permitted provided that the following conditions are met:
 *
 * 1. Redistributions of source code must retain the above copyright notice,
 *    this list of conditions and the following disclaimer.
 *
 * 2. Redistributions in binary form must reproduce the above copyright
 *    notice, this list of conditions and the following disclaimer in the
 *    documentation and/or other materials provided with the distribution.
 *
 * THIS SOFTWARE IS PROVIDED ``AS IS'' AND ANY EXPRESS OR IMPLIED WARRANTIES,
 * INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY
 * AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE
 * AUTHOR BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY,
 * OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF
 * SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS
 * INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN
 * CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE)
 * ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE
 * POSSIBILITY OF SUCH DAMAGE.
 */

namespace OPNsense\Carpd;

use OPNsense\Base\BaseModel;
use OPNsense\Base\Messages\Message;

/**
 * carpd settings (//OPNsense/carpd): the daemon's switch and hook timeout, the Defguard
 * gateway hook (rc.syshook.d/carp/50-defguard-gateway) that follows one CARP VHID, and the
 * protocol settings per VHID (vhids.vhid: CARP or VRRPv3, one entry per CARP VIP; the
 * UniqueConstraint on vhids.vhid.vip keeps it at one), carpd's startup and announcement
 * settings, and its tracked checks (checks.check).
 */
class Carpd extends BaseModel
{
    /**
     * The field each check type uses (src/config/validate.rs, CHECK_TYPES).
     */
    public const CHECK_TYPE_FIELDS = [
        'link' => 'interface',
        'command' => 'command',
        'file' => 'path',
        'process' => 'process',
    ];

    /**
     * Why carpd would refuse a shell command line, as far as it can be told here: its first
     * word is an absolute path that is missing, a directory or not executable (carpd's
     * command_problem; keywords, builtins, expansions and bare names are left to carpd).
     * @param string $command
     * @return string|null
     */
    public static function commandProblem($command)
    {
        $words = preg_split('/\s+/', trim($command));
        $word = $words[0] ?? '';
        if ($word === '' || $word[0] !== '/' || strpbrk($word, "=\$`'\"\\*?[](){};&|<>~#") !== false) {
            return null;
        }
        if (!file_exists($word)) {
            return sprintf(gettext('%s does not exist.'), $word);
        }
        if (is_dir($word)) {
            return sprintf(gettext('%s is a directory, not a program.'), $word);
        }
        if (!is_executable($word)) {
            return sprintf(gettext('%s is not executable.'), $word);
        }
        return null;
    }

    /**
     * The VHIDs of this node's CARP virtual IPs.
     * @return array of strings
     */
    private function carpVhids()
    {
        $vhids = [];
        foreach ((new \OPNsense\Interfaces\Vip())->vip->iterateItems() as $vip) {
            if ((string)$vip->mode === 'carp' && (string)$vip->vhid !== '') {
                $vhids[] = (string)(int)(string)$vip->vhid;
            }
        }
        return $vhids;
    }

    /**
     * The Defguard hook must know which VHID it follows: a CARP VIP or a bare VHID. A VRRPv3
     * VHID needs accept mode.
     * {@inheritdoc}
     */
    public function performValidation($validateFullModel = false)
    {
        $messages = parent::performValidation($validateFullModel);

        $defguard = $this->defguard;
        $changed = $validateFullModel ||
            $defguard->enabled->isFieldChanged() ||
            $defguard->vip->isFieldChanged() ||
            $defguard->vhid->isFieldChanged();
        if (
            $changed &&
            (string)$defguard->enabled === '1' &&
            (string)$defguard->vip === '' &&
            (string)$defguard->vhid === ''
        ) {
            $messages->appendMessage(new Message(
                gettext('Select the CARP virtual IP the gateway follows, or enter its VHID.'),
                'defguard.vip'
            ));
        }

        /*
         * carpd refuses a VRRPv3 VHID with accept 0 (src/config/validate.rs, vhid_settings):
         * it adds the VIPs as the MASTER's own addresses, which always accept packets. Reported
         * on the entry's field, as core's Dnsmasq model does for its hosts.
         */
        foreach ($this->vhids->vhid->iterateItems() as $vhid) {
            if (!$validateFullModel && !$vhid->isFieldChanged()) {
                continue;
            }
            if ((string)$vhid->protocol === 'vrrp3' && (string)$vhid->accept !== '1') {
                $messages->appendMessage(new Message(
                    gettext('carpd needs accept mode on for VRRPv3: the virtual IPs are the MASTER\'s own addresses.'),
                    $vhid->__reference . '.accept'
                ));
            }
        }

        /*
         * carpd's own settings: a ready command whose program is missing makes carpd refuse
         * the configuration; a startup delay as long as the ready deadline is cut short by it.
         */
        $general = $this->general;
        if ($validateFullModel || $general->ready_command->isFieldChanged()) {
            $problem = self::commandProblem((string)$general->ready_command);
            if ($problem !== null) {
                $messages->appendMessage(new Message($problem, 'general.ready_command'));
            }
        }
        if (
            ($validateFullModel || $general->startup_delay->isFieldChanged() ||
                $general->ready_deadline->isFieldChanged()) &&
            (int)(string)$general->startup_delay > 0 &&
            (string)$general->ready_deadline !== '' &&
            (int)(string)$general->startup_delay >= (int)(string)$general->ready_deadline
        ) {
            $messages->appendMessage(new Message(
                gettext('The startup delay must be shorter than the ready deadline: carpd stops waiting at the deadline.'),
                'general.startup_delay'
            ));
        }

        /*
         * A check needs the field of its type (carpd: "a link check needs <interface>"), a
         * fault check has no weight, and its VHIDs are those of CARP VIPs (carpd refuses
         * others). The settings controller clears what a check's type does not use.
         */
        $carp_vhids = null;
        foreach ($this->checks->check->iterateItems() as $check) {
            if (!$validateFullModel && !$check->isFieldChanged()) {
                continue;
            }
            $ref = $check->__reference;
            $type = (string)$check->type;
            $field = self::CHECK_TYPE_FIELDS[$type] ?? null;
            if ($field !== null && (string)$check->$field === '') {
                $messages->appendMessage(new Message(
                    sprintf(gettext('A %s check needs this field.'), $type),
                    $ref . '.' . $field
                ));
            }
            if ($type === 'command' && (string)$check->command !== '') {
                $problem = self::commandProblem((string)$check->command);
                if ($problem !== null) {
                    $messages->appendMessage(new Message($problem, $ref . '.command'));
                }
            }
            $fault = (string)$check->fault === '1';
            if ($fault && (string)$check->weight !== '') {
                $messages->appendMessage(new Message(
                    gettext('A fault check puts its VHIDs into INIT and does not demote: leave the weight empty.'),
                    $ref . '.weight'
                ));
            }
            if ($fault && (string)$check->vhids !== '') {
                if ($carp_vhids === null) {
                    $carp_vhids = $this->carpVhids();
                }
                foreach (explode(',', (string)$check->vhids) as $vhid) {
                    $vhid = trim($vhid);
                    if ($vhid !== '' && !in_array((string)(int)$vhid, $carp_vhids, true)) {
                        $messages->appendMessage(new Message(
                            sprintf(gettext('No CARP virtual IP has VHID %s.'), $vhid),
                            $ref . '.vhids'
                        ));
                    }
                }
            }
        }

        return $messages;
    }
}
